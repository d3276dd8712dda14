/**
 * The upstream Hub, as huggingface_hub and the `hf` CLI choose it: HF_ENDPOINT from the environment when set,
 * else the setting, else https://huggingface.co. Read when this module loads, before the gateway replaces
 * HF_ENDPOINT in this process's environment with its own address (which Lance then uses).
 */
const FROM_ENVIRONMENT = process.env.HF_ENDPOINT?.trim() || null;
export const DEFAULT_HUB = "https://huggingface.co";

/** HF_ENDPOINT as it was when the process started (null when unset). */
export function environmentHubEndpoint(): string | null {
  return FROM_ENVIRONMENT;
}

export function upstreamHubEndpoint(setting?: string | null): string {
  return (FROM_ENVIRONMENT ?? (setting?.trim() || null) ?? DEFAULT_HUB).replace(/\/+$/, "");
}

/** A token from the environment (HF_TOKEN, or the older HUGGING_FACE_HUB_TOKEN), read before the gateway clears them for Lance. */
const TOKEN_FROM_ENVIRONMENT = process.env.HF_TOKEN?.trim() || process.env.HUGGING_FACE_HUB_TOKEN?.trim() || null;

export function environmentHfToken(): string | null {
  return TOKEN_FROM_ENVIRONMENT;
}

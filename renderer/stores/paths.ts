/** Asking for a path: the native dialog when there is one (desktop), else the in-page prompt (browser mode). */
import { api } from "../api/client";

/** The folder part of a path ("" when there is none); / and \\ both separate. */
export function dirOf(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i > 0 ? path.slice(0, i) : "";
}

export type PromptRequest = { title: string; initial: string; confirmLabel?: string; resolve: (path: string | null) => void };

let showPrompt: ((req: PromptRequest) => void) | null = null;

export function registerPathPrompt(fn: (req: PromptRequest) => void): void {
  showPrompt = fn;
}

/** The native picker only (desktop); null in browser mode or when cancelled. */
export async function pickNative(kind: "directory" | "file", title: string): Promise<string | null> {
  const r = await api.app.pickPath({ kind, title });
  return r.ok ? r.value : null;
}

export async function askPath(kind: "file" | "save", title: string, initial: string, confirmLabel?: string): Promise<string | null> {
  const native = await api.app.pickPath({ kind, title, defaultPath: initial });
  if (native.ok) return native.value;
  if (!showPrompt) return null;
  const prompt = showPrompt;
  return new Promise((resolve) => prompt({ title, initial, confirmLabel, resolve }));
}

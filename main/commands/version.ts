/** Replaced at bundle time by esbuild's `define`; the fallback serves tests run from sources. */
declare const __APP_VERSION__: string | undefined;
export const APP_VERSION: string = typeof __APP_VERSION__ === "string" ? __APP_VERSION__ : "dev";

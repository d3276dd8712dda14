/** Asking for a path: the native dialog when there is one (desktop), else the in-page prompt (browser mode). */
import type { Client } from "../../shared/ipc/contract";

/** The folder part of a path ("" when there is none); / and \\ both separate. */
export function dirOf(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i > 0 ? path.slice(0, i) : "";
}

/** The last part of a path. */
export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
}

export type PromptRequest = { title: string; initial: string; confirmLabel?: string; resolve: (path: string | null) => void };

export type AskPath = (kind: "file" | "save", title: string, initial: string, confirmLabel?: string) => Promise<string | null>;

export class Paths {
  private showPrompt: ((req: PromptRequest) => void) | null = null;

  constructor(private readonly client: Client) {}

  /** The page's prompt (browser mode), registered by the component that shows it. */
  registerPrompt(fn: (req: PromptRequest) => void): void {
    this.showPrompt = fn;
  }

  /** The native picker only (desktop); null in browser mode or when cancelled. */
  async pickNative(kind: "directory" | "file", title: string): Promise<string | null> {
    const r = await this.client.app.pickPath({ kind, title });
    return r.ok ? r.value : null;
  }

  askPath: AskPath = async (kind, title, initial, confirmLabel) => {
    const native = await this.client.app.pickPath({ kind, title, defaultPath: initial });
    if (native.ok) return native.value;
    const prompt = this.showPrompt;
    if (!prompt) return null;
    return new Promise((resolve) => prompt({ title, initial, confirmLabel, resolve }));
  };
}

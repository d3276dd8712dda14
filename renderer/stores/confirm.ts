/** Yes/no questions in a dialog ("Replace results.csv?"), shown by the component that registers here. */
export interface ConfirmRequest {
  title: string;
  message: string;
  confirmLabel: string;
  cancelLabel?: string;
  resolve: (yes: boolean) => void;
}

export type AskConfirm = (question: Omit<ConfirmRequest, "resolve">) => Promise<boolean>;

let show: ((req: ConfirmRequest) => void) | null = null;

export function registerConfirm(fn: (req: ConfirmRequest) => void): void {
  show = fn;
}

/** Resolves with the answer; false when no dialog can be shown. */
export const askConfirm: AskConfirm = (question) => {
  const prompt = show;
  return prompt ? new Promise((resolve) => prompt({ ...question, resolve })) : Promise.resolve(false);
};

/** Minimal argv parsing: positionals plus `--flag value` / `--flag=value` / boolean `--flag`. */
export interface ParsedArgs {
  positionals: string[];
  /** The last value of each flag. */
  flags: Map<string, string | true>;
  /** Every value of each flag, in order (`--allow-dir A --allow-dir B`). */
  lists: Map<string, (string | true)[]>;
}

export function parseArgs(argv: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  const lists = new Map<string, (string | true)[]>();
  const set = (name: string, value: string | true) => {
    flags.set(name, value);
    lists.set(name, [...(lists.get(name) ?? []), value]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) set(a.slice(2, eq), a.slice(eq + 1));
      else if (booleanFlags.includes(a.slice(2)) || i + 1 >= argv.length || argv[i + 1].startsWith("--")) set(a.slice(2), true);
      else set(a.slice(2), argv[++i]);
    } else positionals.push(a);
  }
  return { positionals, flags, lists };
}

/** Every value of a flag that may be given several times; each needs a value. */
export function flagList(args: ParsedArgs, name: string, what: string): string[] {
  return (args.lists.get(name) ?? []).map((v) => {
    if (v === true) throw new UsageError(`--${name} needs ${what}`);
    return v;
  });
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

export function flagInt(args: ParsedArgs, name: string): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} needs a whole number, got "${v}"`);
  return n;
}

export class UsageError extends Error {}

/** Fails on a flag not in either list, and on a boolean flag given a value (`--offline=yes`). */
export function checkKnownFlags(args: ParsedArgs, valueFlags: readonly string[], booleanFlags: readonly string[]): void {
  for (const name of args.flags.keys()) {
    if (!valueFlags.includes(name) && !booleanFlags.includes(name)) throw new UsageError(`Unknown flag --${name}`);
    if (booleanFlags.includes(name) && args.flags.get(name) !== true) throw new UsageError(`--${name} takes no value`);
  }
}

/** A flag's value; a flag given without one fails. */
export function flagValue(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

export function flagChoice<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[], fallback: T): T {
  const v = flagValue(args, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got "${v}"`);
  return v as T;
}

/** A whole number from `min` to `max`, or undefined when the flag is absent. */
export function flagIntInRange(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = flagValue(args, name);
  if (v === undefined) return undefined;
  const n = /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} needs a whole number from ${min.toLocaleString("en-US")} to ${max.toLocaleString("en-US")}, got "${v}"`);
  }
  return n;
}

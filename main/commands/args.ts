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

/**
 * A small argument validator for the contract's requests: each schema checks an unknown value and names the
 * first field at fault ("uri must be a string, got number"). Schemas may fill defaults (`withDefault`), so
 * what reaches a service is the checked, normalized value. Types are inferred, so `schemas.ts` can prove at
 * compile time that each schema matches its method's request type.
 */

export interface Schema<T> {
  /** What the value should be, for messages: "a string", "one of csv, parquet". */
  readonly expected: string;
  /** Returns the normalized value, or throws SchemaError naming the field. */
  parse(value: unknown, field: string): T;
  /** Present on optional schemas: the key may be missing. */
  readonly optional?: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

export class SchemaError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "SchemaError";
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length > 40 ? "a long string" : `"${value}"`;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value === "object" ? "an object" : typeof value;
}

function refuse(field: string, expected: string, value: unknown): never {
  throw new SchemaError(field, `${field || "the request"} must be ${expected}, got ${describe(value)}`);
}

export function string(opts: { maxLength?: number; nonEmpty?: boolean; pattern?: RegExp; patternText?: string } = {}): Schema<string> {
  const maxLength = opts.maxLength ?? 4096;
  const expected = opts.patternText ?? (opts.nonEmpty ? "a non-empty string" : "a string");
  return {
    expected,
    parse(value, field) {
      if (typeof value !== "string") refuse(field, expected, value);
      if (opts.nonEmpty && value.trim() === "") refuse(field, expected, value);
      if (value.length > maxLength)
        throw new SchemaError(field, `${field} is too long (${value.length.toLocaleString("en-US")} characters; at most ${maxLength.toLocaleString("en-US")})`);
      if (value.includes("\0")) throw new SchemaError(field, `${field} contains a NUL character`);
      if (opts.pattern && !opts.pattern.test(value)) refuse(field, expected, value);
      return value;
    },
  };
}

export function number(opts: { integer?: boolean; min?: number; max?: number } = {}): Schema<number> {
  const range = opts.min !== undefined && opts.max !== undefined ? ` from ${opts.min} to ${opts.max}` : opts.min !== undefined ? ` ≥ ${opts.min}` : "";
  const expected = `${opts.integer ? "an integer" : "a number"}${range}`;
  return {
    expected,
    parse(value, field) {
      if (typeof value !== "number" || !Number.isFinite(value)) refuse(field, expected, value);
      if (opts.integer && !Number.isInteger(value)) refuse(field, expected, value);
      if ((opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) refuse(field, expected, value);
      return value;
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    expected: "true or false",
    parse(value, field) {
      if (typeof value !== "boolean") refuse(field, "true or false", value);
      return value;
    },
  };
}

export function oneOf<const T extends readonly string[]>(values: T): Schema<T[number]> {
  const expected = `one of ${values.join(", ")}`;
  return {
    expected,
    parse(value, field) {
      if (typeof value !== "string" || !values.includes(value)) refuse(field, expected, value);
      return value as T[number];
    },
  };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  const expected = `${inner.expected} or null`;
  return {
    expected,
    parse(value, field) {
      if (value === null) return null;
      try {
        return inner.parse(value, field);
      } catch (e) {
        // The value itself is wrong (not a nested field): say that null would do too.
        if (e instanceof SchemaError && e.field === field && e.message.includes(" must be ")) refuse(field, expected, value);
        throw e;
      }
    },
  };
}

/** The key may be missing (or undefined, as structured clone keeps it). */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } {
  return {
    expected: inner.expected,
    optional: true,
    parse: (value, field) => (value === undefined ? undefined : inner.parse(value, field)),
  };
}

/** Optional with a default that the service receives instead of a missing value. */
export function withDefault<T>(inner: Schema<T>, fallback: T): Schema<T> & { optional: true } {
  return {
    expected: inner.expected,
    optional: true,
    parse: (value, field) => (value === undefined ? fallback : inner.parse(value, field)),
  };
}

/** Clamps a number into [min, max] instead of refusing it (for limits a caller may over-ask). */
export function clamped(inner: Schema<number>, min: number, max: number): Schema<number> {
  return { expected: inner.expected, parse: (value, field) => Math.min(max, Math.max(min, inner.parse(value, field))) };
}

export function array<T>(item: Schema<T>, opts: { maxItems?: number } = {}): Schema<T[]> {
  const maxItems = opts.maxItems ?? 10_000;
  const expected = `a list of ${item.expected}`;
  return {
    expected,
    parse(value, field) {
      if (!Array.isArray(value)) refuse(field, expected, value);
      if (value.length > maxItems) throw new SchemaError(field, `${field} has too many items (${value.length}; at most ${maxItems})`);
      return value.map((v, i) => item.parse(v, `${field}[${i}]`));
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Flatten<T> = { [K in keyof T]: T[K] };
export type ObjectOf<S extends Shape> = Flatten<{ [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> }>;

/** A plain object with exactly these keys (unknown keys are refused: a typo should not pass silently). */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  const expected = keys.length ? `an object with ${keys.join(", ")}` : "an empty object";
  return {
    expected,
    parse(value, field) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) refuse(field, expected, value);
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) refuse(field, expected, value);
      const at = (k: string) => (field ? `${field}.${k}` : k);
      for (const k of Object.keys(value)) {
        if (!Object.hasOwn(shape, k))
          throw new SchemaError(
            at(k),
            `${field ? `${field} has` : "the request has"} an unknown field "${k.length > 40 ? `${k.slice(0, 40)}…` : k}"${keys.length ? ` (expected ${keys.join(", ")})` : " (it takes none)"}`,
          );
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const v = shape[k].parse((value as Record<string, unknown>)[k], at(k));
        if (v === undefined && !Object.hasOwn(value, k) && shape[k].optional) continue;
        if (v === undefined && !shape[k].optional) refuse(at(k), shape[k].expected, v);
        if (v !== undefined) out[k] = v;
      }
      return out as ObjectOf<S>;
    },
  };
}

/** Bytes (a Uint8Array, as both bindings deliver them), at most `maxBytes` long and a whole number of `unit`-byte items. */
export function bytes(opts: { maxBytes: number; unit?: number }): Schema<Uint8Array> {
  const unit = opts.unit ?? 1;
  const expected = unit > 1 ? `bytes (a whole number of ${unit}-byte items)` : "bytes";
  return {
    expected,
    parse(value, field) {
      if (!(value instanceof Uint8Array) || !ArrayBuffer.isView(value)) refuse(field, expected, value);
      if (value.byteLength > opts.maxBytes)
        throw new SchemaError(
          field,
          `${field} is too large (${value.byteLength.toLocaleString("en-US")} bytes; at most ${opts.maxBytes.toLocaleString("en-US")})`,
        );
      if (value.byteLength % unit !== 0) throw new SchemaError(field, `${field} must be a whole number of ${unit}-byte items, got ${value.byteLength} bytes`);
      return value;
    },
  };
}

/** Exactly two items. */
export function pair<T>(item: Schema<T>): Schema<[T, T]> {
  const expected = `a list of two ${item.expected}`;
  return {
    expected,
    parse(value, field) {
      if (!Array.isArray(value) || value.length !== 2) refuse(field, expected, value);
      return [item.parse(value[0], `${field}[0]`), item.parse(value[1], `${field}[1]`)];
    },
  };
}

/** One of several object shapes told apart by the string field `key` (each shape lists `key` as a oneOf of its tag). */
export function variant<const K extends string, V extends Record<string, Schema<Record<string, unknown>>>>(key: K, shapes: V): Schema<Infer<V[keyof V]>> {
  const tags = Object.keys(shapes);
  const expected = `an object whose ${key} is one of ${tags.join(", ")}`;
  return {
    expected,
    parse(value, field) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) refuse(field, expected, value);
      const tag = (value as Record<string, unknown>)[key];
      if (typeof tag !== "string" || !Object.hasOwn(shapes, tag)) refuse(field ? `${field}.${key}` : key, `one of ${tags.join(", ")}`, tag);
      return shapes[tag].parse(value, field) as Infer<V[keyof V]>;
    },
  };
}

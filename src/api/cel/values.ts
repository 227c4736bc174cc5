/**
 * JSON values as CEL sees them. With a structural schema (CRD rules), upstream's type mapping:
 * integer → int, number → double, int-or-string → int or string, string formats date-time/date →
 * timestamp, duration → duration, byte → bytes, objects with properties → objects whose field
 * names are escaped (a-b → a__dash__b), objects with additionalProperties → maps, arrays → lists.
 * Without a schema (admission policies), integral JSON numbers are ints and other numbers doubles.
 */
import { Duration } from '@marcbachmann/cel-js/evaluator';

const RESERVED = new Set([
  'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import',
  'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while',
]);
const IDENT = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Upstream's property name escaping; undefined when the name cannot be accessed from CEL. */
export function escapePropertyName(name: string): string | undefined {
  // Every object a rule sees converts all its field names: remember them (field names repeat).
  let e = escapedNames.get(name);
  if (e === undefined) {
    e = escapeName(name) ?? null;
    if (escapedNames.size >= 10_000) escapedNames.clear();
    escapedNames.set(name, e);
  }
  return e ?? undefined;
}

const escapedNames = new Map<string, string | null>();

function escapeName(name: string): string | undefined {
  if (RESERVED.has(name)) return `__${name}__`;
  if (IDENT.test(name) && !name.includes('__')) return name;
  const escaped = name.replace(/__/g, '__underscores__').replace(/\./g, '__dot__').replace(/-/g, '__dash__').replace(/\//g, '__slash__');
  return IDENT.test(escaped) ? escaped : undefined;
}

/** A JSON value without a schema: integral numbers become ints. */
export function jsonToCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(jsonToCel);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = jsonToCel((v as Record<string, unknown>)[k]);
  return out;
}

const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const UNIT_NANOS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration string ("1h30m") as a CEL duration; undefined when it is not one. */
export function parseGoDuration(s: string): Duration | undefined {
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return new Duration(0, 0);
  if (rest === '') return undefined;
  let nanos = 0;
  let consumed = 0;
  for (const m of rest.matchAll(DURATION_PART)) {
    if (m.index !== consumed) return undefined;
    consumed += m[0].length;
    nanos += Number(m[1]) * UNIT_NANOS[m[2]];
  }
  if (consumed !== rest.length) return undefined;
  const total = BigInt(Math.round(nanos)) * BigInt(sign);
  return new Duration(total / 1_000_000_000n, Number(total % 1_000_000_000n));
}

type Schema = Record<string, any>;

function stringValue(v: string, schema: Schema): unknown {
  switch (schema.format) {
    case 'date-time':
    case 'datetime': {
      const d = new Date(v);
      return Number.isNaN(d.getTime()) ? v : d;
    }
    case 'date': {
      const d = new Date(`${v}T00:00:00Z`);
      return Number.isNaN(d.getTime()) ? v : d;
    }
    case 'duration':
      return parseGoDuration(v) ?? v;
    case 'byte':
      return new Uint8Array(Buffer.from(v, 'base64'));
    default:
      return v;
  }
}

/** A value under a structural schema node, as upstream presents it to a rule's `self`. */
export function schemaValueToCel(v: unknown, schema: Schema | undefined): unknown {
  if (!schema || v === null || v === undefined) return v === undefined ? null : jsonToCel(v);
  if (schema['x-kubernetes-int-or-string']) return typeof v === 'number' ? (Number.isInteger(v) ? BigInt(v) : v) : v;
  switch (schema.type) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
    case 'number':
      return v;
    case 'string':
      return typeof v === 'string' ? stringValue(v, schema) : v;
    case 'array':
      return Array.isArray(v) ? v.map((x) => schemaValueToCel(x, schema.items)) : jsonToCel(v);
    case 'object':
      return objectToCel(v, schema);
    default:
      return jsonToCel(v);
  }
}

function objectToCel(v: unknown, schema: Schema): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return jsonToCel(v);
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const props: Schema | undefined = schema.properties;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  if (props || embedded) {
    for (const k of Object.keys(src)) {
      const ps = props?.[k];
      if (!ps && !(embedded && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) && !schema['x-kubernetes-preserve-unknown-fields']) continue;
      const name = escapePropertyName(k);
      if (name === undefined) continue;
      out[name] = schemaValueToCel(src[k], ps);
    }
    return out;
  }
  const additional = typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as Schema) : undefined;
  for (const k of Object.keys(src)) out[k] = schemaValueToCel(src[k], additional);
  return out;
}

/** The type name upstream prints as a failed rule's value: "object", "string", "integer", ... */
export function schemaTypeName(schema: Schema): string {
  return typeof schema.type === 'string' ? schema.type : '';
}

/**
 * Structural defaulting as the apiextensions-apiserver applies it when decoding a request and when
 * reading from storage: first nulls the schema does not allow and cannot default are dropped
 * (PruneNonNullableNullsWithoutDefaults), then every absent property with a `default`, and every
 * null where the schema is not nullable, gets a copy of the default (defaulting.Default). Defaults
 * apply to properties, to map values (additionalProperties) and to list items, recursively, so
 * defaults inside a default value are filled in too.
 */
import { compileSchema, fieldSchema, type JSONSchemaProps, type SchemaNode } from './compile.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function copyJSON<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  return structuredClone(v);
}

function isNonNullableNull(x: unknown, s: SchemaNode | undefined): boolean {
  return x === null && s !== undefined && !s.nullable;
}

/** defaulting.PruneNonNullableNullsWithoutDefaults. */
export function pruneNonNullableNullsWithoutDefaults(x: unknown, s: SchemaNode | undefined): void {
  if (Array.isArray(x)) {
    const items = s?.items;
    for (const v of x) pruneNonNullableNullsWithoutDefaults(v, items);
  } else if (isObj(x)) {
    for (const k of Object.keys(x)) {
      const sub = fieldSchema(s, k);
      const v = x[k];
      if (isNonNullableNull(v, sub) && !sub!.hasDefault) delete x[k];
      else pruneNonNullableNullsWithoutDefaults(v, sub);
    }
  }
}

/** defaulting.Default. */
export function defaultValues(x: unknown, s: SchemaNode | undefined): void {
  if (!s || !s.defaultsBelow) return;
  if (isObj(x)) {
    if (s.properties) {
      for (const [k, prop] of s.properties) {
        if (!prop.hasDefault) continue;
        if (x[k] === undefined || isNonNullableNull(x[k], prop)) x[k] = copyJSON(prop.default);
      }
    }
    for (const k of Object.keys(x)) {
      const prop = s.properties?.get(k);
      if (prop) defaultValues(x[k], prop);
      else if (s.additional?.schema) {
        const extra = s.additional.schema;
        if (isNonNullableNull(x[k], extra)) x[k] = extra.hasDefault ? copyJSON(extra.default) : null;
        defaultValues(x[k], extra);
      }
    }
  } else if (Array.isArray(x)) {
    const items = s.items;
    if (!items) return;
    for (let i = 0; i < x.length; i++) {
      if (isNonNullableNull(x[i], items)) x[i] = items.hasDefault ? copyJSON(items.default) : null;
      defaultValues(x[i], items);
    }
  }
}

/**
 * Structural defaulting, in place, as on decode and on read from storage: nulls that are neither
 * allowed nor defaultable are removed, then defaults are applied.
 */
export function applyDefaults(obj: unknown, schema: JSONSchemaProps): void {
  const root = compileSchema(schema);
  pruneNonNullableNullsWithoutDefaults(obj, root);
  defaultValues(obj, root);
}

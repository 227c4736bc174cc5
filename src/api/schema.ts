/**
 * Runtime access to the OpenAPI definitions of built-in kinds. They are derived at build time from
 * kubernetes-types by scripts/gen-schemas.mjs into generated/definitions.json, named and shaped as
 * upstream's OpenAPI v3 components (io.k8s.api.core.v1.Pod, …).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResourceEntry } from './types.js';

export const REF_PREFIX = '#/components/schemas/';

export type Definitions = Record<string, any>;

let cached: Definitions | undefined;

/**
 * skiff's own root: the nearest directory above this module whose package.json is skiff's. Found by
 * walking up rather than by a fixed `../..` because this file runs from src/ under a TS runner and
 * from dist/src/ once compiled.
 */
export function skiffRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if (JSON.parse(readFileSync(manifest, 'utf8')).name === 'skiff') return dir;
      } catch {
        // Not JSON we can read: not ours, keep walking.
      }
    }
    if (dirname(dir) === dir) throw new Error(`cannot find skiff's package.json above ${start}`);
  }
}

/**
 * Every built-in definition, keyed by upstream's name. Read once and shared by every caller: treat
 * the result as read-only.
 */
export function loadDefinitions(): Definitions {
  if (cached) return cached;
  const file = join(skiffRoot(), 'generated', 'definitions.json');
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run \`npm run build\` (scripts/gen-schemas.mjs generates it from kubernetes-types)`);
  }
  cached = JSON.parse(readFileSync(file, 'utf8')) as Definitions;
  return cached;
}

/** The definition name a schema points at (`$ref` or upstream's `allOf: [{ $ref }]`), if it is a reference. */
export function refName(schema: any): string | undefined {
  if (!schema || typeof schema !== 'object') return undefined;
  const ref = typeof schema.$ref === 'string' ? schema.$ref : schema.allOf?.length === 1 ? schema.allOf[0]?.$ref : undefined;
  if (typeof ref !== 'string') return undefined;
  return ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : ref;
}

/**
 * The schema a reference stands for, following chains; anything else is returned as is. What upstream
 * writes beside a reference (description, default, x-kubernetes-patch-strategy, …) describes the
 * field, not the type, so read it from `schema` before resolving.
 */
export function resolveRef(schema: any, defs: Definitions): any {
  let s = schema;
  for (let hops = 0; hops < 32; hops++) {
    const name = refName(s);
    if (name === undefined) return s;
    const target = defs[name];
    if (target === undefined) throw new Error(`OpenAPI reference to unknown definition ${name}`);
    s = target;
  }
  throw new Error('OpenAPI reference chain too long (a cycle of bare references?)');
}

/** The root schema of a catalog entry's kind, or undefined when there is none (e.g. a CRD without a schema). */
export function definitionFor(entry: ResourceEntry, defs: Definitions = loadDefinitions()): any | undefined {
  return defs[entry.definition];
}

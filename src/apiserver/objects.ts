/** Small helpers on API objects shared by the generic handlers. */
import type { KubeObject } from '../api/types.js';

// Lives with the api layer, which validation needs it from; re-exported for the handlers that import it here.
export { deepEqual } from '../api/json.js';

/** RFC 3339 with second precision, as upstream's metav1.Time marshals. */
export function nowTimestamp(at: Date = new Date()): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Upstream's generateName alphabet: no vowels (no accidental words) and no look-alike characters. */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateNameSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return s;
}

/**
 * Serializes an object the way it is stored: apiVersion, kind and metadata first, without
 * resourceVersion (the store's revision is the resourceVersion). The fixed order lets readers
 * splice the resourceVersion in without parsing (see withResourceVersion).
 */
export function toStoredJson(obj: KubeObject): string {
  const { apiVersion, kind, metadata, ...rest } = obj;
  const { resourceVersion: _rv, ...meta } = metadata ?? {};
  return JSON.stringify({ apiVersion, kind, metadata: meta, ...rest });
}

/** Everything but metadata and status: what a change to bumps metadata.generation. */
export function specOf(obj: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

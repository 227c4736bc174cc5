/**
 * RFC 7386 JSON merge patch (application/merge-patch+json) as kube-apiserver 1.30 applies it:
 * github.com/evanphx/json-patch v4.12.0 MergePatch, after apiserver's handlers/patch.go has decoded
 * the body into a map (fieldValidation Warn, the default, or Strict).
 *
 * The library's null pruning is narrower than the RFC's wording suggests and we keep it: nulls are
 * dropped from values that land where nothing (or null) was, and from objects merged over a
 * non-object; a list given over an existing object is taken verbatim.
 */
import { errors } from '../../api/errors.js';
import { cloneJson, getOwn, hasOwn, isMap, jsonKindName, setOwn, type JsonMap } from './json-value.js';

/** Applies `patch` to a copy of `original`; neither input is modified. */
export function applyMergePatch(original: object, patch: unknown): object {
  if (patch === null || patch === undefined) {
    // The map decode accepts null; the library then finds no document in the patch.
    throw errors.badRequest('Invalid JSON Patch');
  }
  if (!isMap(patch)) {
    throw errors.badRequest(`error decoding patch: json: cannot unmarshal ${jsonKindName(patch)} into Go value of type map[string]interface {}`);
  }
  const doc = cloneJson(original) as JsonMap;
  mergeDocs(doc, patch);
  return doc;
}

function mergeDocs(doc: JsonMap, patch: JsonMap): void {
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    if (v === null) {
      delete doc[k];
      continue;
    }
    const cur = getOwn(doc, k);
    if (!hasOwn(doc, k) || cur === null) setOwn(doc, k, pruneNulls(cloneJson(v)));
    else setOwn(doc, k, merge(cur, v));
  }
}

function merge(cur: unknown, patch: unknown): unknown {
  if (!isMap(cur)) return pruneNulls(cloneJson(patch));
  if (!isMap(patch)) return cloneJson(patch);
  mergeDocs(cur, patch);
  return cur;
}

/** Drops null members of objects, recursively, also inside lists; null list elements stay. */
function pruneNulls<T>(v: T): T {
  if (isMap(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else pruneNulls(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) if (x !== null) pruneNulls(x);
  }
  return v;
}

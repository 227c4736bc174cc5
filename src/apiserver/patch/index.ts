/**
 * PATCH bodies: picks the patch format from the request's Content-Type and applies it to the
 * object as stored. The caller decodes the body as JSON, then defaults, validates and stores the
 * result as for an update.
 */
import { ApiError, causes, errors } from '../../api/errors.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { isMap } from './json-value.js';
import { applyStrategicMergePatch, type SchemaNode } from './strategic-merge.js';

export { applyJsonPatch } from './json-patch.js';
export { applyMergePatch } from './merge-patch.js';
export { applyStrategicMergePatch, type SchemaNode } from './strategic-merge.js';
export { PatchServerError, PatchUnprocessableError } from './patch-errors.js';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

/** The patch types a built-in resource accepts, in the order upstream lists them in its 415s. */
export const PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH] as const;

export interface PatchContext {
  /** The kind's root OpenAPI v3 schema; without it strategic merge uses no patch metadata. */
  schema?: object;
  /** Definitions its `$ref`s name, e.g. "io.k8s.api.core.v1.PodSpec". */
  defs: Record<string, any>;
}

/**
 * Upstream drops "; charset=..." and any other parameter by cutting at the first ";", then compares
 * the rest exactly (no trimming, case-sensitive).
 */
export function patchMediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return semi > 0 ? contentType.slice(0, semi) : contentType;
}

/**
 * Refuses a patch type this server does not apply, before the body is read (upstream checks the
 * type first, so a garbled body of an unknown type is a 415, not a 400).
 */
export function checkPatchType(contentType: string, strategic = true): void {
  // Custom resources have no Go structs to carry patch strategies: upstream offers them no strategic merge.
  const accepted = strategic ? PATCH_TYPES : PATCH_TYPES.filter((t) => t !== STRATEGIC_MERGE_PATCH);
  if (!(accepted as readonly string[]).includes(patchMediaType(contentType))) {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
  }
}

/**
 * Applies a JSON, merge or strategic merge patch. Server-side apply is not a patch of the object
 * alone (it needs managedFields and a field manager): ResourceStore.apply performs it.
 */
export function applyPatch(contentType: string, original: object, patchBody: unknown, ctx: PatchContext): object {
  checkPatchType(contentType);
  const mediaType = patchMediaType(contentType);
  if (mediaType === APPLY_PATCH) throw new ApiError(415, 'UnsupportedMediaType', `${APPLY_PATCH} is applied by the field manager, not as a patch`);
  switch (mediaType) {
    case JSON_PATCH:
      return asDecodedObject(applyJsonPatch(original, patchBody));
    case STRATEGIC_MERGE_PATCH:
      return applyStrategicMergePatch(original, patchBody as object, ctx.schema as SchemaNode | undefined, ctx.defs);
    default: // MERGE_PATCH: checkPatchType let nothing else through
      return applyMergePatch(original, patchBody);
  }
}

/**
 * A JSON patch may replace the whole document with a list ("replace" at ""); upstream then fails to
 * decode the result into the kind and answers 422 on the field "patch".
 */
function asDecodedObject(result: object): object {
  if (isMap(result)) return result;
  const text = JSON.stringify(result);
  throw errors.invalid('', '', '', [causes.invalid('patch', text, `json: cannot unmarshal array into Go value of type map[string]interface {}`)]);
}

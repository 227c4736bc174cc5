/**
 * The AdmissionReview a webhook receives and the checks on what it answers, as upstream's
 * webhook/request package builds and verifies them (v1, and v1beta1 for webhooks that only list it).
 */
import type { KubeObject } from '../../../api/types.js';
import type { AdmissionRequest } from '../types.js';
import { kindOf, resourceOf, type Invocation } from './matching.js';

export type ReviewVersion = 'v1' | 'v1beta1';

/** The first AdmissionReview version the webhook accepts that this server speaks. */
export function reviewVersionFor(accepted: readonly string[]): ReviewVersion | undefined {
  for (const v of accepted) if (v === 'v1' || v === 'v1beta1') return v;
  return undefined;
}

export function admissionReview(
  version: ReviewVersion,
  uid: string,
  a: AdmissionRequest,
  inv: Invocation,
  object: KubeObject | undefined,
  oldObject: KubeObject | undefined,
): object {
  const user = a.user;
  const userInfo: Record<string, unknown> = { username: user?.name ?? '' };
  if (user?.uid) userInfo.uid = user.uid;
  if (user?.groups?.length) userInfo.groups = user.groups;
  if (user?.extra && Object.keys(user.extra).length > 0) userInfo.extra = user.extra;
  const request: Record<string, unknown> = {
    uid,
    kind: inv.kind,
    resource: inv.resource,
  };
  if (inv.subresource) request.subResource = inv.subresource;
  request.requestKind = kindOf(a.entry);
  request.requestResource = resourceOf(a.entry);
  if (a.subresource) request.requestSubResource = a.subresource;
  if (a.name) request.name = a.name;
  if (a.namespace) request.namespace = a.namespace;
  request.operation = a.operation;
  request.userInfo = userInfo;
  request.object = object ?? null;
  request.oldObject = oldObject ?? null;
  request.dryRun = a.dryRun;
  request.options = a.options ?? null;
  return { kind: 'AdmissionReview', apiVersion: `admission.k8s.io/${version}`, request };
}

export interface ReviewResult {
  allowed: boolean;
  patch?: Buffer;
  patchType?: string;
  /** The webhook's Status (code, reason, message, details) for a denial. */
  status?: Record<string, any>;
  warnings: string[];
}

/** Checks the answer; throws an Error with upstream's text when it is not a valid response. */
export function verifyResponse(version: ReviewVersion, uid: string, mutating: boolean, review: unknown): ReviewResult {
  const r = (typeof review === 'object' && review !== null && !Array.isArray(review) ? review : {}) as Record<string, any>;
  const response = r.response;
  if (typeof response !== 'object' || response === null || Array.isArray(response)) throw new Error('webhook response was absent');
  const warnings = Array.isArray(response.warnings) ? response.warnings.filter((w: unknown): w is string => typeof w === 'string') : [];
  const status = typeof response.status === 'object' && response.status !== null && !Array.isArray(response.status) ? response.status : undefined;
  const allowed = response.allowed === true;
  const rawPatch = typeof response.patch === 'string' && response.patch !== '' ? Buffer.from(response.patch, 'base64') : undefined;
  if (version === 'v1beta1') {
    // v1beta1 answers were never checked for uid or kind; a patch is always a JSONPatch.
    return { allowed, status, warnings, patch: mutating ? rawPatch : undefined, patchType: mutating && rawPatch ? 'JSONPatch' : undefined };
  }
  const gotUid = typeof response.uid === 'string' ? response.uid : '';
  if (gotUid !== uid) throw new Error(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(gotUid)}`);
  if (r.apiVersion !== 'admission.k8s.io/v1' || r.kind !== 'AdmissionReview') {
    throw new Error(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${gvkString(r.apiVersion, r.kind)}`);
  }
  const hasPatchType = response.patchType !== undefined && response.patchType !== null;
  if (!mutating) {
    if (rawPatch) throw new Error('validating webhook may not return response.patch');
    if (hasPatchType) throw new Error('validating webhook may not return response.patchType');
    return { allowed, status, warnings };
  }
  if (rawPatch && !hasPatchType) throw new Error('webhook returned response.patch but not response.patchType');
  if (!rawPatch && hasPatchType) throw new Error('webhook returned response.patchType but not response.patch');
  if (hasPatchType && (typeof response.patchType !== 'string' || response.patchType === '')) {
    throw new Error(`webhook returned invalid response.patchType of ${JSON.stringify(String(response.patchType))}`);
  }
  return { allowed, status, warnings, patch: rawPatch, patchType: hasPatchType ? String(response.patchType) : undefined };
}

/** schema.GroupVersionKind's String(): "group/version, Kind=kind" (the slash even for the core group). */
function gvkString(apiVersion: unknown, kind: unknown): string {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const k = typeof kind === 'string' ? kind : '';
  const slash = av.indexOf('/');
  const group = slash < 0 ? '' : av.slice(0, slash);
  const version = slash < 0 ? av : av.slice(slash + 1);
  return `${group}/${version}, Kind=${k}`;
}

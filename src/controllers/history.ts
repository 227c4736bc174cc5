/**
 * Revision history of workloads kept as apps/v1 ControllerRevisions, after upstream's
 * pkg/controller/history and the DaemonSet controller's own history code: the recorded state is a
 * strategic merge patch that restores the pod template (`{"spec":{"template":{"$patch":"replace",…}}}`,
 * serialized as Go's encoding/json does), revisions are named `<owner>-<hash>`, numbered, compared by
 * their data, and truncated to the owner's revisionHistoryLimit.
 *
 * Also here: claiming objects by controller reference (upstream's ControllerRefManager), which
 * revisions and pods share — adopt orphans that match the owner's selector, release owned objects
 * that no longer match — and the informer indexes that make it cheap.
 */
import type { KubeObject, OwnerReference } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { LabelPredicate } from '../api/selectors.js';
import type { Informer } from '../client/informer.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { byCreationThenName, CONTROLLER_REVISIONS, controllerRefOf, newControllerRef } from './pods.js';

/** Pods and revisions of a DaemonSet or StatefulSet carry their revision under this label. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
/** The hash label upstream's history package puts on the revisions it names (StatefulSet). */
export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

// ---- Go-compatible serialization and hashing ---------------------------------------------------

function goString(s: string): string {
  // encoding/json escapes HTML-significant characters and the JavaScript line separators.
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go's json.Marshal of a value decoded into maps: keys sorted, HTML-escaped strings. */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${goString(k)}:${goJson(x)}`).join(',')}}`;
  }
  return 'null';
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1 (32 bit) over `bytes`, continuing from `h`. */
function fnv1(bytes: Uint8Array, h = FNV_OFFSET): number {
  for (const b of bytes) h = Math.imul(h, FNV_PRIME) ^ b;
  return h >>> 0;
}

/** FNV-1a (32 bit) over `bytes`, continuing from `h`. */
function fnv1a(bytes: Uint8Array, h = FNV_OFFSET): number {
  for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME);
  return h >>> 0;
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** Upstream's rand.SafeEncodeString: no vowels, no look-alikes, so a hash never spells a word. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += ALPHANUMS[ch.codePointAt(0)! % ALPHANUMS.length];
  return out;
}

const utf8 = new TextEncoder();

/**
 * The hash of a revision's data, as upstream's history.HashControllerRevision: FNV-1 over the raw
 * patch and the collision count (when given), printed in decimal and safe-encoded.
 */
export function hashRevisionData(data: string, collisionCount?: number): string {
  let h = fnv1(utf8.encode(data));
  if (collisionCount !== undefined) h = fnv1(utf8.encode(String(collisionCount)), h);
  return safeEncodeString(String(h));
}

/**
 * The hash of a pod template, in the shape of upstream's controller.ComputeHash (FNV-1a, the
 * collision count appended as 4 little-endian bytes, decimal, safe-encoded). Upstream hashes Go's
 * printed struct, which cannot be reproduced here; this hashes the template's canonical JSON.
 */
export function hashTemplate(template: unknown, collisionCount?: number): string {
  let h = fnv1a(utf8.encode(goJson(template)));
  if (collisionCount !== undefined) {
    const le = new Uint8Array(4);
    new DataView(le.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv1a(le, h);
  }
  return safeEncodeString(String(h));
}

/** `<prefix>-<hash>`, the prefix cut so the name stays a valid DNS subdomain (upstream's ControllerRevisionName). */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

// ---- what a revision records -------------------------------------------------------------------

/** The patch that restores `owner`'s pod template: upstream's getPatch, as a value. */
export function templatePatchOf(owner: KubeObject): Record<string, unknown> {
  const template = (owner.spec?.template ?? {}) as Record<string, unknown>;
  return { spec: { template: { ...template, $patch: 'replace' } } };
}

/** The patch as the bytes upstream stores and compares. */
export function templatePatchBytes(owner: KubeObject): string {
  return goJson(templatePatchOf(owner));
}

/** A revision's data as bytes comparable with `templatePatchBytes`. */
export function revisionDataBytes(revision: KubeObject): string {
  return goJson(revision.data ?? null);
}

/** `owner` with the pod template a revision recorded (upstream's ApplyRevision for these patches). */
export function applyRevision(owner: KubeObject, revision: KubeObject): KubeObject {
  const recorded = (revision.data as { spec?: { template?: Record<string, unknown> } } | undefined)?.spec?.template;
  if (!recorded || typeof recorded !== 'object') return owner;
  const { $patch: _directive, ...template } = recorded;
  void _directive;
  return { ...owner, spec: { ...owner.spec, template } };
}

export function revisionNumber(revision: KubeObject): number {
  return typeof revision.revision === 'number' ? revision.revision : 0;
}

/** By revision number, then creation time, then name (upstream's SortControllerRevisions). */
export function sortRevisions(revisions: KubeObject[]): KubeObject[] {
  return revisions.sort((a, b) => {
    const d = revisionNumber(a) - revisionNumber(b);
    return d !== 0 ? d : byCreationThenName(a, b);
  });
}

export function maxRevision(revisions: readonly KubeObject[]): number {
  let max = 0;
  for (const r of revisions) max = Math.max(max, revisionNumber(r));
  return max;
}

/** One more than the newest of sorted `revisions`, or 1. */
export function nextRevision(sorted: readonly KubeObject[]): number {
  return sorted.length === 0 ? 1 : revisionNumber(sorted[sorted.length - 1]) + 1;
}

/** Same recorded state: hash labels differ ⇒ different; otherwise equal data (upstream's EqualRevision). */
export function equalRevision(a: KubeObject, b: KubeObject): boolean {
  const ha = a.metadata?.labels?.[REVISION_HASH_LABEL];
  const hb = b.metadata?.labels?.[REVISION_HASH_LABEL];
  if (ha !== undefined && hb !== undefined && ha !== hb) return false;
  return revisionDataBytes(a) === revisionDataBytes(b);
}

// ---- writing revisions -------------------------------------------------------------------------

/** Patches a revision's number (upstream's UpdateControllerRevision). */
export function setRevisionNumber(client: Client, revision: KubeObject, revisionNumber: number): Promise<KubeObject> {
  return client.patch(CONTROLLER_REVISIONS, revision.metadata!.namespace!, revision.metadata!.name!, 'application/merge-patch+json', { revision: revisionNumber });
}

/** Deletes a revision; one already gone is fine. */
export async function deleteRevision(client: Client, revision: KubeObject): Promise<void> {
  try {
    await client.delete(CONTROLLER_REVISIONS, revision.metadata!.namespace!, revision.metadata!.name!, { preconditions: { uid: revision.metadata!.uid } });
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 404)) throw err;
  }
}

/**
 * Deletes the oldest of `candidates` (not live, sorted oldest first) until at most `limit` remain.
 * A negative limit keeps everything.
 */
export async function truncateRevisions(client: Client, candidates: readonly KubeObject[], limit: number): Promise<void> {
  if (limit < 0 || candidates.length <= limit) return;
  for (const r of candidates.slice(0, candidates.length - limit)) await deleteRevision(client, r);
}

// ---- claiming by controller reference ----------------------------------------------------------

/** Index of objects by the UID of their controller. */
export const BY_CONTROLLER_UID = 'controller-uid';
/** Index of objects without a controller, by namespace: the orphans an owner may adopt. */
export const ORPHANS_BY_NAMESPACE = 'orphans-by-namespace';

function addIndexOnce(inf: Informer, name: string, fn: (obj: KubeObject) => string[]): void {
  try {
    inf.addIndexer(name, fn);
  } catch (err) {
    // Another controller on this shared informer added the same index first.
    if (!(err instanceof Error && err.message.includes('already exists'))) throw err;
  }
}

/** Adds the controller-UID and orphan indexes to a (shared) informer, once. */
export function indexByController(inf: Informer): void {
  addIndexOnce(inf, BY_CONTROLLER_UID, (obj) => {
    const uid = controllerRefOf(obj)?.uid;
    return uid ? [uid] : [];
  });
  addIndexOnce(inf, ORPHANS_BY_NAMESPACE, (obj) => (controllerRefOf(obj) ? [] : [obj.metadata?.namespace ?? '']));
}

/** Objects an owner may claim: those it controls and the orphans of its namespace. */
export function claimCandidates(inf: Informer, owner: KubeObject): KubeObject[] {
  return [...inf.byIndex(BY_CONTROLLER_UID, owner.metadata!.uid!), ...inf.byIndex(ORPHANS_BY_NAMESPACE, owner.metadata?.namespace ?? '')];
}

export interface ClaimOptions {
  client: Client;
  ref: ResourceRef;
  owner: KubeObject;
  apiVersion: string;
  kind: string;
  selector: LabelPredicate;
  /** Extra condition to own an object (a StatefulSet's pods must carry its name). */
  filter?: (obj: KubeObject) => boolean;
  /**
   * Reads the owner fresh from the API before the first adoption; false when it is gone, replaced or
   * being deleted (upstream's RecheckDeletionTimestamp: a cached owner may be stale).
   */
  canAdopt: () => Promise<boolean>;
}

/**
 * Upstream's ControllerRefManager.ClaimObjects: returns what `owner` controls after adopting the
 * matching orphans and releasing owned objects that no longer match.
 */
export async function claimObjects(objs: readonly KubeObject[], o: ClaimOptions): Promise<KubeObject[]> {
  const uid = o.owner.metadata!.uid!;
  const ownerDeleting = Boolean(o.owner.metadata?.deletionTimestamp);
  const matches = (obj: KubeObject) => o.selector.matches(obj.metadata?.labels) && (o.filter?.(obj) ?? true);
  const claimed: KubeObject[] = [];
  let adoptable: Promise<boolean> | undefined;
  const errors: unknown[] = [];
  for (const obj of objs) {
    const ref = controllerRefOf(obj);
    try {
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches(obj)) claimed.push(obj);
        else if (!ownerDeleting) await release(o, obj);
        continue;
      }
      if (ownerDeleting || !matches(obj) || obj.metadata?.deletionTimestamp) continue;
      if (o.owner.metadata?.namespace && o.owner.metadata.namespace !== obj.metadata?.namespace) continue;
      adoptable ??= o.canAdopt();
      if (!(await adoptable)) continue;
      claimed.push(await adopt(o, obj));
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) continue;
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
  return claimed;
}

function adopt(o: ClaimOptions, obj: KubeObject): Promise<KubeObject> {
  const ref: OwnerReference = newControllerRef(o.owner, o.apiVersion, o.kind);
  // The uid pins the patch to the object we looked at, as upstream's ownerRefControllerPatch does.
  const patch = { metadata: { ownerReferences: [ref], uid: obj.metadata!.uid } };
  return o.client.patch(o.ref, obj.metadata!.namespace!, obj.metadata!.name!, 'application/strategic-merge-patch+json', patch);
}

async function release(o: ClaimOptions, obj: KubeObject): Promise<void> {
  const patch = { metadata: { ownerReferences: [{ $patch: 'delete', uid: o.owner.metadata!.uid }], uid: obj.metadata!.uid } };
  try {
    await o.client.patch(o.ref, obj.metadata!.namespace!, obj.metadata!.name!, 'application/strategic-merge-patch+json', patch);
  } catch (err) {
    // Gone, or no longer ours (422 on a uid mismatch): nothing left to release.
    if (err instanceof ApiError && (err.code === 404 || err.code === 422)) return;
    throw err;
  }
}

/** `canAdopt` for `claimObjects`: a fresh read of the owner that must be the same, live object. */
export function recheckOwner(client: Client, ref: ResourceRef, owner: KubeObject): () => Promise<boolean> {
  return async () => {
    try {
      const fresh = await client.get(ref, owner.metadata!.namespace!, owner.metadata!.name!);
      return fresh.metadata?.uid === owner.metadata?.uid && !fresh.metadata?.deletionTimestamp;
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return false;
      throw err;
    }
  };
}

/**
 * What upstream's workload controllers share (pkg/controller/controller_utils.go and
 * controller_ref_manager.go): the pod-template hash, the order in which active pods are chosen for
 * deletion, slow-start batches, informer indexes by controller, semantic equality of templates and
 * the adoption/release of objects by controller reference.
 */
import type { KubeObject, OwnerReference } from '../api/types.js';
import { labelSelectorFromObject, type LabelPredicate } from '../api/selectors.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { controllerRefOf, isPodReady, parseTime, podCondition } from './pods.js';

// ---- the pod-template hash -------------------------------------------------------------------

/** Upstream's rand.SafeEncodeString alphabet: no vowels, no look-alikes, so no words. */
const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** Upstream's SafeEncodeString: each character mapped into the safe alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHANUMS[ch.codePointAt(0)! % SAFE_ALPHANUMS.length];
  return out;
}

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

function fnv32a(hash: number, bytes: Uint8Array): number {
  for (const b of bytes) hash = Math.imul(hash ^ b, FNV32_PRIME) >>> 0;
  return hash;
}

/** JSON with object keys sorted at every level: the same template always gives the same text. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/**
 * The hash of a pod template, as upstream's controller.ComputeHash: FNV-1a (32 bits) of the
 * template, then of the collision count as 8 little-endian bytes when there is one, printed in
 * decimal and encoded in the safe alphabet. Upstream hashes Go's printout of its structs, which
 * no other language can reproduce; this hashes canonical JSON instead, so values differ from a
 * real cluster's while keeping their shape (up to 10 safe characters) and their stability.
 */
export function computeHash(template: unknown, collisionCount?: number): string {
  let h = fnv32a(FNV32_OFFSET, new TextEncoder().encode(canonicalJson(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(h, bytes);
  }
  return safeEncodeString(String(h));
}

// ---- semantic equality -----------------------------------------------------------------------

function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).every((k) => (v as Record<string, unknown>)[k] === undefined);
}

/**
 * Deep equality as upstream's equality.Semantic on API objects read back as JSON: a missing field,
 * null, an empty map and an empty list are all the same nothing.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isEmptyValue(a) && isEmptyValue(b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => semanticEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
    if (!semanticEqual(ao[k], bo[k])) return false;
  }
  return true;
}

// ---- selectors ----

const selectors = new WeakMap<object, LabelPredicate | Error>();

/**
 * The parsed spec.selector of a workload. Informer objects are frozen and replaced on change, so
 * the parse is cached per object: matching thousands of pods does not parse thousands of times.
 * Throws (the same error each time) for an invalid selector.
 */
export function selectorOf(obj: KubeObject): LabelPredicate {
  let sel = selectors.get(obj);
  if (sel === undefined) {
    try {
      sel = labelSelectorFromObject(obj.spec?.selector);
    } catch (err) {
      sel = err instanceof Error ? err : new Error(String(err));
    }
    if (Object.isFrozen(obj)) selectors.set(obj, sel);
  }
  if (sel instanceof Error) throw sel;
  return sel;
}

/** Whether a workload's selector selects these labels; an empty or invalid selector selects nothing here. */
export function selectsLabels(obj: KubeObject, labels: Record<string, string> | undefined): boolean {
  try {
    const sel = selectorOf(obj);
    return !sel.empty && sel.matches(labels);
  } catch {
    return false;
  }
}

// ---- informer indexes ------------------------------------------------------------------------

/** Index of objects by the UID of their controller (upstream's controllerUIDIndex). */
export const BY_CONTROLLER_UID = 'controllerUID';
/** Index of objects without a controller, by namespace: the candidates for adoption. */
export const ORPHANS_BY_NAMESPACE = 'orphansByNamespace';
/** Index of objects by namespace. */
export const BY_NAMESPACE = 'namespace';

function hasIndexer(inf: Informer, name: string): boolean {
  try {
    inf.byIndex(name, '');
    return true;
  } catch {
    return false;
  }
}

/** Adds the namespace index (once, however many controllers share the informer). */
export function ensureNamespaceIndex(inf: Informer): void {
  if (!hasIndexer(inf, BY_NAMESPACE)) inf.addIndexer(BY_NAMESPACE, (o) => [o.metadata?.namespace ?? '']);
}

/** Adds the indexes controllers of owned objects read; several controllers sharing one informer add them once. */
export function ensureOwnershipIndexes(inf: Informer): void {
  if (!hasIndexer(inf, BY_CONTROLLER_UID)) {
    inf.addIndexer(BY_CONTROLLER_UID, (o) => {
      const uid = controllerRefOf(o)?.uid;
      return uid ? [uid] : [];
    });
  }
  if (!hasIndexer(inf, ORPHANS_BY_NAMESPACE)) {
    inf.addIndexer(ORPHANS_BY_NAMESPACE, (o) => (controllerRefOf(o) ? [] : [o.metadata?.namespace ?? '']));
  }
}

// ---- slow start ------------------------------------------------------------------------------

/** Upstream's SlowStartInitialBatchSize. */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;

/**
 * Calls `fn` `count` times in batches of 1, 2, 4, ... and stops after the first batch with a
 * failure, so a call that will fail for every pod (a quota, an admission webhook) fails once, not
 * `count` times. Upstream's slowStartBatch: returns how many succeeded and the first error.
 */
export async function slowStartBatch(count: number, initialBatchSize: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    let error: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else error ??= r.reason;
    }
    if (error !== undefined) return { successes, error };
    remaining -= batch;
  }
  return { successes };
}

// ---- which pods to delete first --------------------------------------------------------------

/** Upstream's pod-deletion-cost annotation (beta, on by default since 1.22). */
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: KubeObject): number {
  const v = pod.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION];
  // Upstream parses with strconv.ParseInt(v, 10, 32): anything else (or out of range) costs 0.
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647 ? n : 0;
}

/** When the pod became ready (0 when it is not, or nobody said). */
function readySinceMs(pod: KubeObject): number {
  const c = podCondition(pod, 'Ready');
  return c?.status === 'True' ? (parseTime(c.lastTransitionTime) ?? 0) : 0;
}

/** Upstream's afterOrZero: a zero time sorts first, then the later time. */
function afterOrZero(t1: number, t2: number): boolean {
  if (t1 === 0 || t2 === 0) return t1 === 0;
  return t1 > t2;
}

/** Upstream's logarithmicRankDiff: compares how long ago, in powers of two of nanoseconds. */
function logarithmicRankDiff(t1: number, t2: number, nowMs: number): number {
  const d1 = (nowMs - t1) * 1e6;
  const d2 = (nowMs - t2) * 1e6;
  const r1 = d1 > 0 ? Math.trunc(Math.log2(d1)) : -1;
  const r2 = d2 > 0 ? Math.trunc(Math.log2(d2)) : -1;
  return r1 - r2;
}

function maxRestarts(pod: KubeObject): { regular: number; sidecar: number } {
  let regular = 0;
  for (const c of (pod.status?.containerStatuses ?? []) as { restartCount?: number }[]) regular = Math.max(regular, c.restartCount ?? 0);
  const sidecars = new Set(((pod.spec?.initContainers ?? []) as { name: string; restartPolicy?: string }[]).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  let sidecar = 0;
  for (const c of (pod.status?.initContainerStatuses ?? []) as { name: string; restartCount?: number }[]) {
    if (sidecars.has(c.name)) sidecar = Math.max(sidecar, c.restartCount ?? 0);
  }
  return { regular, sidecar };
}

/** Logarithmic comparison of two times (earlier-or-later buckets), then by UID. */
function logarithmicLess(t1: number, t2: number, a: KubeObject, b: KubeObject, nowMs: number): boolean {
  if (nowMs === 0 || t1 === 0 || t2 === 0) return afterOrZero(t1, t2);
  const diff = logarithmicRankDiff(t1, t2, nowMs);
  if (diff === 0) return (a.metadata?.uid ?? '') < (b.metadata?.uid ?? '');
  return diff < 0;
}

/**
 * True when pod `a` should be deleted before pod `b`: upstream's ActivePodsWithRanks.Less with
 * LogarithmicScaleDown and PodDeletionCost on, as in 1.30.
 *  1. unscheduled before scheduled; 2. Pending before Unknown before Running; 3. not ready before
 *  ready; 4. lower deletion cost first; 5. higher rank (more related pods on its node) first;
 *  6. ready for less time first (in log2 buckets); 7. more restarts first; 8. newer first (log2 buckets).
 */
export function deleteBefore(a: KubeObject, b: KubeObject, rankA: number, rankB: number, nowMs: number): boolean {
  const nodeA = a.spec?.nodeName ?? '';
  const nodeB = b.spec?.nodeName ?? '';
  if (nodeA !== nodeB && (nodeA === '' || nodeB === '')) return nodeA === '';
  const phaseA = PHASE_ORDINAL[a.status?.phase ?? ''] ?? 0;
  const phaseB = PHASE_ORDINAL[b.status?.phase ?? ''] ?? 0;
  if (phaseA !== phaseB) return phaseA < phaseB;
  const readyA = isPodReady(a);
  const readyB = isPodReady(b);
  if (readyA !== readyB) return !readyA;
  const costA = deletionCost(a);
  const costB = deletionCost(b);
  if (costA !== costB) return costA < costB;
  if (rankA !== rankB) return rankA > rankB;
  if (readyA && readyB) {
    const t1 = readySinceMs(a);
    const t2 = readySinceMs(b);
    if (t1 !== t2) return logarithmicLess(t1, t2, a, b, nowMs);
  }
  const ra = maxRestarts(a);
  const rb = maxRestarts(b);
  if (ra.regular !== rb.regular) return ra.regular > rb.regular;
  if (ra.sidecar !== rb.sidecar) return ra.sidecar > rb.sidecar;
  const c1 = parseTime(a.metadata?.creationTimestamp) ?? 0;
  const c2 = parseTime(b.metadata?.creationTimestamp) ?? 0;
  if (c1 !== c2) return logarithmicLess(c1, c2, a, b, nowMs);
  return false;
}

/**
 * The `count` pods to delete first among `pods`. `relatedPods` are the active pods of the owner's
 * family (the pods of every ReplicaSet of one Deployment): a pod sharing its node with more of them
 * goes first, so scaling down spreads what remains (upstream's getPodsToDelete).
 */
export function podsToDelete(pods: readonly KubeObject[], relatedPods: readonly KubeObject[], count: number, nowMs: number): KubeObject[] {
  if (count >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of relatedPods) {
    if (p.metadata?.deletionTimestamp || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const node = p.spec?.nodeName ?? '';
    onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((x, y) => (deleteBefore(x.pod, y.pod, x.rank, y.rank, nowMs) ? -1 : deleteBefore(y.pod, x.pod, y.rank, x.rank, nowMs) ? 1 : 0));
  return ranked.slice(0, count).map((r) => r.pod);
}

// ---- adoption and release --------------------------------------------------------------------

export interface ControllerRefManagerOptions {
  client: Client;
  /** The resource of the objects claimed (pods, replicasets). */
  resource: ResourceRef;
  /** The controller claiming them. */
  owner: KubeObject;
  ownerApiVersion: string;
  ownerKind: string;
  selector: LabelPredicate;
  /** Throws when the owner may not adopt (upstream checks a fresh copy: same UID, not being deleted). */
  canAdopt: () => Promise<void>;
}

/**
 * Upstream's ControllerRefManager: of the candidates, keeps what the owner controls and its
 * selector matches, adopts orphans its selector matches (a strategic-merge patch adding the
 * controller reference, with the object's UID as precondition) and releases what it controls but
 * no longer matches. Objects controlled by someone else are left alone.
 */
export class ControllerRefManager {
  private canAdoptOnce: Promise<void> | undefined;

  constructor(private readonly o: ControllerRefManagerOptions) {}

  /** The claimed objects (adopted ones as the API returned them). Throws the first failure after trying all. */
  async claim(candidates: Iterable<KubeObject>): Promise<KubeObject[]> {
    const claimed: KubeObject[] = [];
    let firstError: unknown;
    const ownerUid = this.o.owner.metadata?.uid;
    const ownerDeleting = Boolean(this.o.owner.metadata?.deletionTimestamp);
    for (const obj of candidates) {
      const ref = controllerRefOf(obj);
      const matches = this.o.selector.matches(obj.metadata?.labels);
      try {
        if (ref) {
          if (ref.uid !== ownerUid) continue;
          if (matches) claimed.push(obj);
          else if (!ownerDeleting) await this.release(obj);
          continue;
        }
        if (ownerDeleting || !matches || obj.metadata?.deletionTimestamp) continue;
        if ((obj.metadata?.namespace ?? '') !== (this.o.owner.metadata?.namespace ?? '')) continue;
        const adopted = await this.adopt(obj);
        if (adopted) claimed.push(adopted);
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
    return claimed;
  }

  private ownerRef(): OwnerReference {
    const m = this.o.owner.metadata!;
    return { apiVersion: this.o.ownerApiVersion, kind: this.o.ownerKind, name: m.name!, uid: m.uid!, controller: true, blockOwnerDeletion: true };
  }

  private async adopt(obj: KubeObject): Promise<KubeObject | undefined> {
    this.canAdoptOnce ??= this.o.canAdopt();
    try {
      await this.canAdoptOnce;
    } catch (err) {
      throw new Error(`can't adopt ${obj.kind ?? this.o.resource.resource} ${obj.metadata?.namespace}/${obj.metadata?.name} (${obj.metadata?.uid}): ${(err as Error).message}`);
    }
    const m = obj.metadata!;
    try {
      return await this.o.client.patch(this.o.resource, m.namespace ?? '', m.name!, 'application/strategic-merge-patch+json', {
        metadata: { ownerReferences: [this.ownerRef()], uid: m.uid },
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  private async release(obj: KubeObject): Promise<void> {
    const m = obj.metadata!;
    try {
      await this.o.client.patch(this.o.resource, m.namespace ?? '', m.name!, 'application/strategic-merge-patch+json', {
        metadata: { ownerReferences: [{ $patch: 'delete', uid: this.o.owner.metadata!.uid }], uid: m.uid },
      });
    } catch (err) {
      // Gone, or no longer ours (422: the reference was already dropped, or the UID changed).
      if (err instanceof ApiError && (err.code === 404 || err.code === 422)) return;
      throw err;
    }
  }
}

/**
 * Upstream's RecheckDeletionTimestamp over a fresh read of the owner: adoption is refused when the
 * owner is gone, was replaced (another UID) or is being deleted.
 */
export function recheckOwner(client: Client, resource: ResourceRef, owner: KubeObject): () => Promise<void> {
  return async () => {
    const m = owner.metadata!;
    const fresh = await client.get(resource, m.namespace ?? '', m.name!);
    if (fresh.metadata?.uid !== m.uid) throw new Error(`original ${owner.kind} ${m.namespace}/${m.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${m.uid}`);
    if (fresh.metadata?.deletionTimestamp) throw new Error(`${m.namespace}/${m.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  };
}

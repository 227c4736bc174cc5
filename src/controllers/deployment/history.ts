/**
 * A Deployment's history lives in its ReplicaSets, as upstream keeps it: each carries its revision
 * (deployment.kubernetes.io/revision), the revisions it served before a rollback
 * (deployment.kubernetes.io/revision-history), the Deployment's other annotations (the
 * kubernetes.io/change-cause `kubectl rollout history` shows) and the desired/max replicas of the
 * last scaling. Old ReplicaSets beyond revisionHistoryLimit are deleted once they are empty.
 */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import { REPLICA_SETS } from '../pods.js';
import type { DeploymentDeps } from './sync.js';
import {
  byRevision,
  DEPRECATED_ROLLBACK_TO_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  hasRevisionHistoryLimit,
  LAST_APPLIED_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  maxSurge,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  revisionOf,
  specReplicas,
  type Deployment,
  type ReplicaSet,
} from './util.js';

/** Upstream's maxRevHistoryLengthInChars: the revision-history annotation is kept under 2000 characters. */
export const MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000;

/** Annotations that belong to the Deployment or to one ReplicaSet, never copied between them. */
const ANNOTATIONS_TO_SKIP = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  DEPRECATED_ROLLBACK_TO_ANNOTATION,
]);

export function skipCopyAnnotation(key: string): boolean {
  return ANNOTATIONS_TO_SKIP.has(key);
}

function annotationsOf(o: KubeObject): Record<string, string> {
  const m = (o.metadata ??= {});
  return (m.annotations ??= {});
}

/** The highest revision among `rss` (unreadable ones skipped), upstream's MaxRevision. */
export function maxRevision(rss: readonly (ReplicaSet | undefined)[]): number {
  let max = 0;
  for (const rs of rss) {
    const v = revisionOf(rs);
    if (Number.isFinite(v) && v > max) max = v;
  }
  return max;
}

/** Copies the Deployment's annotations onto `rs` (a mutable copy); true if any changed. */
function copyDeploymentAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  const target = annotationsOf(rs);
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (skipCopyAnnotation(k) || target[k] === v) continue;
    target[k] = v;
    changed = true;
  }
  return changed;
}

/** Sets desired-replicas and max-replicas on `rs` (a mutable copy); true if either changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = annotationsOf(rs);
  let changed = false;
  if (a[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    a[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (a[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    a[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = rs.metadata?.annotations;
  return a?.[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a?.[MAX_REPLICAS_ANNOTATION] !== String(max);
}

/**
 * Brings the new ReplicaSet's annotations in line (upstream's SetNewReplicaSetAnnotations): the
 * Deployment's annotations copied, the revision raised to `newRevision` when lower — and then, when
 * it had one, the old revision appended to revision-history, because the template went back to it
 * (a rollback) — and, for a ReplicaSet about to be created, the replicas annotations.
 * Mutates `rs` (a copy); true if anything changed.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean, limitChars = MAX_REV_HISTORY_LENGTH_IN_CHARS): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const a = annotationsOf(rs);
  const hadRevision = REVISION_ANNOTATION in a;
  const oldRevision = a[REVISION_ANNOTATION] ?? '';
  let oldRevisionInt = 0;
  if (oldRevision !== '') {
    if (!/^[+-]?\d+$/.test(oldRevision)) return false;
    oldRevisionInt = Number(oldRevision);
  }
  if (oldRevisionInt < newRevision) {
    a[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (hadRevision) appendRevisionHistory(a, oldRevision, limitChars);
  }
  if (!exists && setReplicasAnnotations(rs, specReplicas(d), specReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Appends `oldRevision` to revision-history, dropping the oldest entries to stay within `limitChars`. */
function appendRevisionHistory(a: Record<string, string>, oldRevision: string, limitChars: number): void {
  const history = a[REVISION_HISTORY_ANNOTATION] ?? '';
  const entries = history.split(',');
  if (entries[0] === '') {
    a[REVISION_HISTORY_ANNOTATION] = oldRevision;
    return;
  }
  let total = history.length + oldRevision.length + 1;
  let start = 0;
  while (total > limitChars && start < entries.length) {
    total -= entries[start].length + 1;
    start++;
  }
  // Upstream leaves the history as it is when even dropping everything cannot make room.
  if (total <= limitChars) a[REVISION_HISTORY_ANNOTATION] = [...entries.slice(start), oldRevision].join(',');
}

/**
 * Deletes the oldest old ReplicaSets beyond revisionHistoryLimit, skipping any that still has or
 * wants pods, is being deleted, or whose last change its controller has not yet observed
 * (upstream's cleanupDeployment).
 */
export async function cleanupDeployment(deps: DeploymentDeps, oldRSs: readonly ReplicaSet[], d: Deployment): Promise<void> {
  if (!hasRevisionHistoryLimit(d)) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
  const diff = cleanable.length - Number(d.spec.revisionHistoryLimit);
  if (diff <= 0) return;
  cleanable.sort(byRevision);
  for (const rs of cleanable.slice(0, diff)) {
    if (Number(rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0) continue;
    if ((rs.metadata?.generation ?? 0) > Number(rs.status?.observedGeneration ?? 0)) continue;
    try {
      await deps.client.delete(REPLICA_SETS, rs.metadata!.namespace!, rs.metadata!.name!, { preconditions: { uid: rs.metadata!.uid } });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) continue;
      // One failure ends the round rather than pressing on against a struggling API server.
      throw err;
    }
  }
}

/**
 * Rollout progress, after upstream's progress.go: the Progressing condition (NewReplicaSetAvailable
 * when complete, ReplicaSetUpdated while pods move, ProgressDeadlineExceeded when nothing moved for
 * progressDeadlineSeconds), ReplicaSet failures promoted to the Deployment, and a requeue for the
 * moment the deadline would pass.
 */
import {
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  getCondition,
  NEW_RS_AVAILABLE_REASON,
  newCondition,
  PROGRESSING,
  removeCondition,
  REPLICA_FAILURE,
  REPLICA_SET_UPDATED_REASON,
  setCondition,
  statusEqual,
  TIMED_OUT_REASON,
  type DeploymentCondition,
  type DeploymentStatus,
} from './conditions.js';
import { calculateStatus, updateStatus, type DeploymentDeps } from './sync.js';
import { hasProgressDeadline, type Deployment, type ReplicaSet } from './util.js';

/** Writes the rollout's status with its Progressing and ReplicaFailure conditions (upstream's syncRolloutStatus). */
export async function syncRolloutStatus(deps: DeploymentDeps, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const nowMs = deps.now();
  const status = calculateStatus(allRSs, newRS, d, nowMs);
  if (!hasProgressDeadline(d)) removeCondition(status, PROGRESSING);

  const current = getCondition(d.status, PROGRESSING);
  // One ReplicaSet with every pod, already reported complete: a resync, with nothing to estimate.
  const alreadyComplete = (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && current?.reason === NEW_RS_AVAILABLE_REASON;
  if (hasProgressDeadline(d) && !alreadyComplete) {
    const rsName = newRS?.metadata?.name;
    if (deploymentComplete(d, status)) {
      const msg = rsName ? `ReplicaSet "${rsName}" has successfully progressed.` : `Deployment "${d.metadata!.name}" has successfully progressed.`;
      setCondition(status, newCondition(PROGRESSING, 'True', NEW_RS_AVAILABLE_REASON, msg, nowMs));
    } else if (deploymentProgressing(d, status)) {
      const msg = rsName ? `ReplicaSet "${rsName}" is progressing.` : `Deployment "${d.metadata!.name}" is progressing.`;
      const cond = newCondition(PROGRESSING, 'True', REPLICA_SET_UPDATED_REASON, msg, nowMs);
      // Progress refreshes lastUpdateTime even under the same reason, which setCondition would not do.
      if (current) {
        if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
        removeCondition(status, PROGRESSING);
      }
      setCondition(status, cond);
    } else if (deploymentTimedOut(d, status, nowMs)) {
      const msg = rsName ? `ReplicaSet "${rsName}" has timed out progressing.` : `Deployment "${d.metadata!.name}" has timed out progressing.`;
      setCondition(status, newCondition(PROGRESSING, 'False', TIMED_OUT_REASON, msg, nowMs));
    }
  }

  const failures = replicaFailures(allRSs, newRS);
  if (failures.length > 0) setCondition(status, failures[0]);
  else removeCondition(status, REPLICA_FAILURE);

  if (statusEqual(d.status, status)) {
    requeueStuckDeployment(deps, d, status, nowMs);
    return;
  }
  d.status = status;
  await updateStatus(deps, d);
}

/** ReplicaFailure conditions of the ReplicaSets, the new one's first (upstream's getReplicaFailures). */
function replicaFailures(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): DeploymentCondition[] {
  const of = (rs: ReplicaSet | undefined): DeploymentCondition[] =>
    ((rs?.status?.conditions ?? []) as { type: string; status: DeploymentCondition['status']; lastTransitionTime?: string; reason?: string; message?: string }[])
      .filter((c) => c.type === REPLICA_FAILURE)
      .map((c) => ({ type: c.type, status: c.status, lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime, reason: c.reason, message: c.message }));
  const fromNew = of(newRS);
  if (fromNew.length > 0) return fromNew;
  return allRSs.flatMap(of);
}

/**
 * Looks at a rollout again when its deadline would pass, since nothing else may happen before
 * then (upstream's requeueStuckDeployment). Returns the wait in ms, or -1 when none is needed.
 */
export function requeueStuckDeployment(deps: DeploymentDeps, d: Deployment, status: DeploymentStatus, nowMs: number): number {
  const current = getCondition(d.status, PROGRESSING);
  if (!hasProgressDeadline(d) || !current) return -1;
  if (deploymentComplete(d, status) || current.reason === TIMED_OUT_REASON) return -1;
  const from = Date.parse(current.lastUpdateTime ?? '');
  const after = (Number.isFinite(from) ? from : 0) + Number(d.spec.progressDeadlineSeconds) * 1000 - nowMs;
  // Upstream adds a second against clock skew; under a second it looks again at once.
  const wait = after < 1000 ? Math.max(after, 0) + 100 : after + 1000;
  deps.enqueueAfter(d, wait);
  return wait;
}

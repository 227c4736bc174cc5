/**
 * The RollingUpdate strategy, after upstream's rolling.go: grow the new ReplicaSet while the total
 * stays within replicas + maxSurge, shrink old ones while the available pods stay at least
 * replicas - maxUnavailable — unhealthy old replicas first, since removing them costs no availability.
 */
import { deploymentComplete } from './conditions.js';
import { cleanupDeployment } from './history.js';
import { syncRolloutStatus } from './progress.js';
import { getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent, type DeploymentDeps } from './sync.js';
import { availableReplicaCount, byCreationTimestamp, filterActive, maxUnavailable, newRSNewReplicas, replicaCount, specReplicas, type Deployment, type ReplicaSet } from './util.js';

export async function rolloutRolling(deps: DeploymentDeps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, true);
  if (!newRS) return;
  const allRSs = [...oldRSs, newRS];

  if (await reconcileNewReplicaSet(deps, allRSs, newRS, d)) return syncRolloutStatus(deps, allRSs, newRS, d);
  if (await reconcileOldReplicaSets(deps, allRSs, filterActive(oldRSs), newRS, d)) return syncRolloutStatus(deps, allRSs, newRS, d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(deps, oldRSs, d);
  return syncRolloutStatus(deps, allRSs, newRS, d);
}

async function reconcileNewReplicaSet(deps: DeploymentDeps, allRSs: ReplicaSet[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
  const want = specReplicas(d);
  if (specReplicas(newRS) === want) return false;
  if (specReplicas(newRS) > want) return (await scaleReplicaSetAndRecordEvent(deps, newRS, want, d)).scaled;
  return (await scaleReplicaSetAndRecordEvent(deps, newRS, newRSNewReplicas(d, allRSs, newRS), d)).scaled;
}

/**
 * Scales old ReplicaSets down as far as availability allows (upstream's reconcileOldReplicaSets):
 * at most allPods - minAvailable - (new pods not yet available), so unavailable new pods never let
 * more old ones go.
 */
async function reconcileOldReplicaSets(deps: DeploymentDeps, allRSs: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
  if (replicaCount(oldRSs) === 0) return false;
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - Number(newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = replicaCount(allRSs) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;

  const cleanup = await cleanupUnhealthyReplicas(deps, oldRSs, d, maxScaledDown);
  if (!cleanup) return false;
  const { oldRSs: cleaned, scaledDown: cleanedUp } = cleanup;
  const scaledDown = await scaleDownOldReplicaSetsForRollingUpdate(deps, [...cleaned, newRS], cleaned, d);
  return cleanedUp + scaledDown > 0;
}

/**
 * Removes old replicas that are not available, oldest ReplicaSet first, up to `maxCleanup`.
 * Undefined when a ReplicaSet reports more available pods than it wants: its status has not caught
 * up with its last scale-down, and counting on it would overcount availability (upstream stops
 * there too, by refusing that "scale down" as invalid).
 */
async function cleanupUnhealthyReplicas(deps: DeploymentDeps, oldRSs: ReplicaSet[], d: Deployment, maxCleanup: number): Promise<{ oldRSs: ReplicaSet[]; scaledDown: number } | undefined> {
  const sorted = [...oldRSs].sort(byCreationTimestamp);
  let total = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (total >= maxCleanup) break;
    const rs = sorted[i];
    const replicas = specReplicas(rs);
    const available = Number(rs.status?.availableReplicas ?? 0);
    if (replicas === 0 || replicas === available) continue;
    if (available > replicas) return undefined;
    const count = Math.min(maxCleanup - total, replicas - available);
    const { rs: updated } = await scaleReplicaSetAndRecordEvent(deps, rs, replicas - count, d);
    total += count;
    sorted[i] = updated;
  }
  return { oldRSs: sorted, scaledDown: total };
}

/** Scales old ReplicaSets down, oldest first, by what availability above minAvailable allows. */
async function scaleDownOldReplicaSetsForRollingUpdate(deps: DeploymentDeps, allRSs: ReplicaSet[], oldRSs: ReplicaSet[], d: Deployment): Promise<number> {
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const available = availableReplicaCount(allRSs);
  if (available <= minAvailable) return 0;
  const sorted = [...oldRSs].sort(byCreationTimestamp);
  const totalToScaleDown = available - minAvailable;
  let total = 0;
  for (const rs of sorted) {
    if (total >= totalToScaleDown) break;
    if (specReplicas(rs) === 0) continue;
    const count = Math.min(specReplicas(rs), totalToScaleDown - total);
    await scaleReplicaSetAndRecordEvent(deps, rs, specReplicas(rs) - count, d);
    total += count;
  }
  return total;
}

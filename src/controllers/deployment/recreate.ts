/**
 * The Recreate strategy, after upstream's recreate.go: scale every old ReplicaSet to zero, wait
 * until none of their pods is left (terminating ones included), and only then create and scale up
 * the new one — old and new pods never run side by side.
 */
import { deploymentComplete } from './conditions.js';
import { cleanupDeployment } from './history.js';
import { syncRolloutStatus } from './progress.js';
import { getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent, type DeploymentDeps } from './sync.js';
import { actualReplicaCount, filterActive, specReplicas, type Deployment, type ReplicaSet } from './util.js';
import { selectorOf } from '../controller-utils.js';

export async function rolloutRecreate(deps: DeploymentDeps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  // No new ReplicaSet yet: creating it first would scale up before scaling down.
  let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, false);
  let allRSs = [...oldRSs, newRS];

  let scaledDown = false;
  for (const rs of filterActive(oldRSs)) {
    if ((await scaleReplicaSetAndRecordEvent(deps, rs, 0, d)).scaled) scaledDown = true;
  }
  if (scaledDown) return syncRolloutStatus(deps, allRSs, newRS, d);
  if (oldPodsRunning(deps, d, newRS, oldRSs)) return syncRolloutStatus(deps, allRSs, newRS, d);

  if (!newRS) {
    ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, true));
    allRSs = [...oldRSs, newRS];
  }
  if (newRS) await scaleReplicaSetAndRecordEvent(deps, newRS, specReplicas(d), d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(deps, oldRSs, d);
  return syncRolloutStatus(deps, allRSs, newRS, d);
}

/**
 * Whether an old ReplicaSet still counts pods, or any pod of one is not finished — terminating
 * pods included, as they may still run (upstream's oldPodsRunning over the Deployment's pod map).
 */
function oldPodsRunning(deps: DeploymentDeps, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  const selector = selectorOf(d);
  for (const rs of oldRSs) {
    if (newRS && rs.metadata?.uid === newRS.metadata?.uid) continue;
    for (const pod of deps.podsOf(rs.metadata!.uid!)) {
      if (!selector.matches(pod.metadata?.labels)) continue;
      const phase = pod.status?.phase;
      if (phase !== 'Succeeded' && phase !== 'Failed') return true;
    }
  }
  return false;
}

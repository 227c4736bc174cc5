/**
 * Rollback by the deprecated.deployment.rollback.to annotation, apps/v1's carrier of
 * extensions/v1beta1's spec.rollbackTo (upstream's rollback.go). kubectl no longer uses it — `kubectl
 * rollout undo` writes the old template into the Deployment itself — but older clients may.
 */
import { DEPLOYMENTS } from '../pods.js';
import { skipCopyAnnotation } from './history.js';
import { getAllReplicaSetsAndSyncRevision, type DeploymentDeps } from './sync.js';
import { DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY, DEPRECATED_ROLLBACK_TO_ANNOTATION, equalIgnoreHash, revisionOf, type Deployment, type ReplicaSet } from './util.js';

/** The revision asked for (0: the previous one), or undefined when none or unreadable. */
export function getRollbackTo(d: Deployment): number | undefined {
  const v = d.metadata?.annotations?.[DEPRECATED_ROLLBACK_TO_ANNOTATION];
  if (!v || !/^[+-]?\d+$/.test(v)) return undefined;
  return Number(v);
}

/** The second highest revision (upstream's LastRevision). */
function lastRevision(rss: readonly (ReplicaSet | undefined)[]): number {
  let max = 0;
  let second = 0;
  for (const rs of rss) {
    const v = revisionOf(rs);
    if (!Number.isFinite(v)) continue;
    if (v >= max) {
      second = max;
      max = v;
    } else if (v > second) second = v;
  }
  return second;
}

export async function rollback(deps: DeploymentDeps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, true);
  const allRSs = [...oldRSs, newRS];
  let revision = getRollbackTo(d)!;
  if (revision === 0) {
    revision = lastRevision(allRSs);
    if (revision === 0) {
      deps.recorder.event(d, 'Warning', 'DeploymentRollbackRevisionNotFound', 'Unable to find last revision.');
      return clearRollbackTo(deps, d);
    }
  }
  const target = allRSs.find((rs) => rs && revisionOf(rs) === revision);
  if (!target) {
    deps.recorder.event(d, 'Warning', 'DeploymentRollbackRevisionNotFound', 'Unable to find the revision to rollback to.');
    return clearRollbackTo(deps, d);
  }
  if (equalIgnoreHash(d.spec?.template, target.spec?.template)) {
    deps.recorder.event(d, 'Warning', 'DeploymentRollbackTemplateUnchanged', `The rollback revision contains the same template as current deployment "${d.metadata!.name}"`);
    return clearRollbackTo(deps, d);
  }
  // The template comes back without its hash label; the annotations come back from the ReplicaSet.
  const template = structuredClone(target.spec.template);
  if (template.metadata?.labels) delete template.metadata.labels[DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY];
  d.spec.template = template;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) if (skipCopyAnnotation(k)) annotations[k] = v as string;
  for (const [k, v] of Object.entries(target.metadata?.annotations ?? {})) if (!skipCopyAnnotation(k)) annotations[k] = v as string;
  d.metadata!.annotations = annotations;
  await clearRollbackTo(deps, d);
  deps.recorder.event(d, 'Normal', 'DeploymentRollback', `Rolled back deployment "${d.metadata!.name}" to revision ${revision}`);
}

async function clearRollbackTo(deps: DeploymentDeps, d: Deployment): Promise<void> {
  if (d.metadata?.annotations) delete d.metadata.annotations[DEPRECATED_ROLLBACK_TO_ANNOTATION];
  const { status: _status, ...body } = d;
  await deps.client.update(DEPLOYMENTS, d.metadata!.namespace!, body);
}

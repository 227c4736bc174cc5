/**
 * What every path through a Deployment's sync shares, after upstream's sync.go: finding (or
 * creating) the new ReplicaSet and keeping revisions in step, scaling ReplicaSets with the
 * ScalingReplicaSet event, proportional scaling when replicas change mid-rollout or while paused,
 * the paused condition, and the status computed from the ReplicaSets.
 *
 * `d` is always the controller's own mutable copy of the Deployment; writes to it keep its
 * resourceVersion current so one sync can write more than once without conflicting with itself.
 */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import type { Client } from '../../client/interface.js';
import type { EventRecorder } from '../../client/events.js';
import { computeHash } from '../controller-utils.js';
import { controllerRefOf, DEPLOYMENTS, newControllerRef, REPLICA_SETS } from '../pods.js';
import {
  AVAILABLE,
  FAILED_RS_CREATE_REASON,
  FOUND_NEW_RS_REASON,
  getCondition,
  MINIMUM_REPLICAS_AVAILABLE,
  MINIMUM_REPLICAS_UNAVAILABLE,
  NEW_REPLICA_SET_REASON,
  newCondition,
  normalizeStatus,
  PAUSED_DEPLOY_REASON,
  PROGRESSING,
  RESUMED_DEPLOY_REASON,
  setCondition,
  statusEqual,
  TIMED_OUT_REASON,
  type DeploymentStatus,
} from './conditions.js';
import { cleanupDeployment, maxRevision, replicasAnnotationsNeedUpdate, setNewReplicaSetAnnotations, setReplicasAnnotations } from './history.js';
import {
  actualReplicaCount,
  availableReplicaCount,
  bySizeNewer,
  bySizeOlder,
  DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
  DEPRECATED_ROLLBACK_TO_ANNOTATION,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  filterActive,
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  getProportion,
  hasProgressDeadline,
  isRollingUpdate,
  isSaturated,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  readyReplicaCount,
  REVISION_ANNOTATION,
  replicaCount,
  specReplicas,
  type Deployment,
  type ReplicaSet,
} from './util.js';

/** What the sync functions need from the controller. */
export interface DeploymentDeps {
  client: Client;
  recorder: EventRecorder;
  now(): number;
  /** The informer's copy of a ReplicaSet, by `namespace/name`. */
  replicaSet(key: string): ReplicaSet | undefined;
  /** The pods controlled by a ReplicaSet (by its UID). */
  podsOf(rsUid: string): readonly KubeObject[];
  enqueueAfter(d: Deployment, ms: number): void;
}

// ---- writes to the Deployment ----

/** Writes `d.status` through the status subresource; `d` takes the new resourceVersion. */
export async function updateStatus(deps: DeploymentDeps, d: Deployment): Promise<void> {
  d.status = normalizeStatus(d.status);
  const out = await deps.client.update(DEPLOYMENTS, d.metadata!.namespace!, d, { subresource: 'status' });
  d.metadata!.resourceVersion = out.metadata?.resourceVersion;
}

/**
 * Copies the new ReplicaSet's revision onto the Deployment (upstream's SetDeploymentRevision).
 * Upstream carries it in its status update, where its status strategy lets annotations through;
 * here the status subresource keeps metadata, so the annotation is its own write.
 */
async function syncDeploymentRevision(deps: DeploymentDeps, d: Deployment, revision: string): Promise<void> {
  const annotations = (d.metadata!.annotations ??= {});
  if (annotations[REVISION_ANNOTATION] === revision) return;
  annotations[REVISION_ANNOTATION] = revision;
  const { status: _status, ...body } = d;
  const out = await deps.client.update(DEPLOYMENTS, d.metadata!.namespace!, body);
  d.metadata!.resourceVersion = out.metadata?.resourceVersion;
}

// ---- the new ReplicaSet and revisions ----

/**
 * The new ReplicaSet (created when `createIfNotExisted`) and all the old ones, with the new one's
 * revision above every old one and the Deployment's revision annotation equal to it (upstream's
 * getAllReplicaSetsAndSyncRevision). ReplicaSets rewritten on the way replace theirs in `rsList`.
 */
export async function getAllReplicaSetsAndSyncRevision(
  deps: DeploymentDeps,
  d: Deployment,
  rsList: ReplicaSet[],
  createIfNotExisted: boolean,
): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
  const oldRSs = findOldReplicaSets(d, rsList);
  const newRS = await getNewReplicaSet(deps, d, rsList, oldRSs, createIfNotExisted);
  return { newRS, oldRSs };
}

function replaceIn(rsList: ReplicaSet[], rs: ReplicaSet): void {
  const i = rsList.findIndex((x) => x.metadata?.uid === rs.metadata?.uid);
  if (i >= 0) rsList[i] = rs;
  else rsList.push(rs);
}

async function getNewReplicaSet(deps: DeploymentDeps, d: Deployment, rsList: ReplicaSet[], oldRSs: ReplicaSet[], createIfNotExisted: boolean): Promise<ReplicaSet | undefined> {
  const existing = findNewReplicaSet(d, rsList);
  const newRevision = maxRevision(oldRSs) + 1;
  const ns = d.metadata!.namespace!;

  if (existing) {
    const rsCopy = structuredClone(existing);
    const annotationsUpdated = setNewReplicaSetAnnotations(d, rsCopy, newRevision, true);
    const minReady = Number(d.spec?.minReadySeconds ?? 0);
    if (annotationsUpdated || Number(rsCopy.spec?.minReadySeconds ?? 0) !== minReady) {
      if (minReady) rsCopy.spec.minReadySeconds = minReady;
      else delete rsCopy.spec.minReadySeconds;
      // The Deployment catches up in the sync this update brings about.
      const updated = await deps.client.update(REPLICA_SETS, ns, rsCopy);
      replaceIn(rsList, updated);
      return updated;
    }
    await syncDeploymentRevision(deps, d, rsCopy.metadata?.annotations?.[REVISION_ANNOTATION] ?? '');
    // A Deployment that never had a Progressing condition starts counting from here.
    if (hasProgressDeadline(d) && !getCondition(d.status, PROGRESSING)) {
      d.status = { ...d.status };
      setCondition(d.status, newCondition(PROGRESSING, 'True', FOUND_NEW_RS_REASON, `Found new replica set "${rsCopy.metadata?.name}"`, deps.now()));
      await updateStatus(deps, d);
    }
    return existing;
  }

  if (!createIfNotExisted) return undefined;

  const template = structuredClone(d.spec?.template ?? {});
  const hash = computeHash(template, d.status?.collisionCount);
  template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash } };
  const selector = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash };
  const name = `${d.metadata!.name}-${hash}`;
  const spec: Record<string, unknown> = { replicas: 0, selector, template };
  if (d.spec?.minReadySeconds) spec.minReadySeconds = d.spec.minReadySeconds;
  const rs: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: ns, labels: template.metadata.labels, ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')] },
    spec,
  };
  const newReplicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
  rs.spec.replicas = newReplicas;
  setNewReplicaSetAnnotations(d, rs, newRevision, false);

  let created: ReplicaSet;
  let alreadyExists = false;
  try {
    created = await deps.client.create(REPLICA_SETS, ns, rs);
  } catch (err) {
    if (err instanceof ApiError && err.code === 409 && err.reason === 'AlreadyExists') {
      // A slow cache, or a hash collision: the Deployment's own ReplicaSet with its template is fine.
      const found = deps.replicaSet(`${ns}/${name}`);
      if (!found) throw err;
      if (controllerRefOf(found)?.uid === d.metadata?.uid && equalIgnoreHash(d.spec?.template, found.spec?.template)) {
        created = found;
        alreadyExists = true;
      } else {
        d.status = { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
        await updateStatus(deps, d);
        throw err;
      }
    } else if (err instanceof ApiError && err.code === 403 && (err.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating')) {
      throw err;
    } else {
      const msg = `Failed to create new replica set "${name}": ${(err as Error).message}`;
      if (hasProgressDeadline(d)) {
        d.status = { ...d.status };
        setCondition(d.status, newCondition(PROGRESSING, 'False', FAILED_RS_CREATE_REASON, msg, deps.now()));
        // The failure to report matters more than whether this write lands.
        await updateStatus(deps, d).catch(() => undefined);
      }
      deps.recorder.event(d, 'Warning', FAILED_RS_CREATE_REASON, msg);
      throw err;
    }
  }
  replaceIn(rsList, created);
  if (!alreadyExists && newReplicas > 0) deps.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata!.name} to ${newReplicas}`);

  await syncDeploymentRevision(deps, d, String(newRevision));
  if (!alreadyExists && hasProgressDeadline(d)) {
    d.status = { ...d.status };
    setCondition(d.status, newCondition(PROGRESSING, 'True', NEW_REPLICA_SET_REASON, `Created new replica set "${created.metadata!.name}"`, deps.now()));
    await updateStatus(deps, d);
  }
  return created;
}

// ---- scaling ----

/**
 * Sets a ReplicaSet's replicas and its desired/max-replicas annotations (upstream's
 * scaleReplicaSet), with a ScalingReplicaSet event when the size changed. The update carries the
 * informer's resourceVersion: a stale view fails with a conflict instead of scaling twice.
 */
export async function scaleReplicaSet(deps: DeploymentDeps, rs: ReplicaSet, newScale: number, d: Deployment, operation: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  const oldScale = specReplicas(rs);
  const sizeNeedsUpdate = oldScale !== newScale;
  const desired = specReplicas(d);
  const max = desired + maxSurge(d);
  if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
  const copy = structuredClone(rs);
  copy.spec.replicas = newScale;
  setReplicasAnnotations(copy, desired, max);
  const updated = await deps.client.update(REPLICA_SETS, rs.metadata!.namespace!, copy);
  if (sizeNeedsUpdate) deps.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${operation} replica set ${updated.metadata!.name} to ${newScale} from ${oldScale}`);
  return { scaled: sizeNeedsUpdate, rs: updated };
}

export async function scaleReplicaSetAndRecordEvent(deps: DeploymentDeps, rs: ReplicaSet, newScale: number, d: Deployment): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  if (specReplicas(rs) === newScale) return { scaled: false, rs };
  return scaleReplicaSet(deps, rs, newScale, d, specReplicas(rs) < newScale ? 'up' : 'down');
}

/**
 * Scaling outside a rollout (upstream's scale): one active ReplicaSet takes the whole size; a
 * saturated new one leaves the old ones at zero; otherwise, in a rolling update, the change is
 * shared in proportion to each ReplicaSet's size, the rounding leftover going to the largest, so
 * a scale in the middle of a rollout neither hastens nor slows it.
 */
export async function scale(deps: DeploymentDeps, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
  const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
  if (activeOrLatest) {
    if (specReplicas(activeOrLatest) === specReplicas(d)) return;
    await scaleReplicaSetAndRecordEvent(deps, activeOrLatest, specReplicas(d), d);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of filterActive(oldRSs)) await scaleReplicaSetAndRecordEvent(deps, old, 0, d);
    return;
  }
  if (!isRollingUpdate(d)) return;

  const allRSs = filterActive([...oldRSs, newRS]);
  const allowedSize = specReplicas(d) > 0 ? specReplicas(d) + maxSurge(d) : 0;
  const toAdd = allowedSize - replicaCount(allRSs);
  let operation = '';
  if (toAdd > 0) {
    allRSs.sort(bySizeNewer);
    operation = 'up';
  } else if (toAdd < 0) {
    allRSs.sort(bySizeOlder);
    operation = 'down';
  }
  let added = 0;
  const sizes = new Map<string, number>();
  for (const rs of allRSs) {
    if (toAdd === 0) {
      sizes.set(rs.metadata!.name!, specReplicas(rs));
      continue;
    }
    const proportion = getProportion(rs, d, toAdd, added);
    sizes.set(rs.metadata!.name!, specReplicas(rs) + proportion);
    added += proportion;
  }
  for (let i = 0; i < allRSs.length; i++) {
    const rs = allRSs[i];
    const name = rs.metadata!.name!;
    if (i === 0 && toAdd !== 0) sizes.set(name, Math.max(sizes.get(name)! + toAdd - added, 0));
    await scaleReplicaSet(deps, rs, sizes.get(name)!, d, operation);
  }
}

/** A change of spec.replicas not yet carried to the active ReplicaSets' desired-replicas annotations (upstream's isScalingEvent). */
export async function isScalingEvent(deps: DeploymentDeps, d: Deployment, rsList: ReplicaSet[]): Promise<boolean> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, false);
  for (const rs of filterActive([...oldRSs, newRS])) {
    const desired = desiredReplicasAnnotation(rs);
    if (desired !== undefined && desired !== specReplicas(d)) return true;
  }
  return false;
}

// ---- sync paths that do not roll out ----

/** A paused Deployment, or a scaling event: scale, tidy the history while paused, report status (upstream's sync). */
export async function sync(deps: DeploymentDeps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, false);
  await scale(deps, d, newRS, oldRSs);
  if (d.spec?.paused && !d.metadata?.annotations?.[DEPRECATED_ROLLBACK_TO_ANNOTATION]) await cleanupDeployment(deps, oldRSs, d);
  await syncDeploymentStatus(deps, [...oldRSs, newRS], newRS, d);
}

/** A Deployment being deleted: only its status is kept current (upstream's syncStatusOnly). */
export async function syncStatusOnly(deps: DeploymentDeps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, false);
  await syncDeploymentStatus(deps, [...oldRSs, newRS], newRS, d);
}

/**
 * Progressing=Unknown with DeploymentPaused/DeploymentResumed when spec.paused flips, so time spent
 * paused never counts against the progress deadline (upstream's checkPausedConditions).
 */
export async function checkPausedConditions(deps: DeploymentDeps, d: Deployment): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  const cond = getCondition(d.status, PROGRESSING);
  if (cond?.reason === TIMED_OUT_REASON) return;
  const pausedCondExists = cond?.reason === PAUSED_DEPLOY_REASON;
  let next: ReturnType<typeof newCondition> | undefined;
  if (d.spec?.paused && !pausedCondExists) next = newCondition(PROGRESSING, 'Unknown', PAUSED_DEPLOY_REASON, 'Deployment is paused', deps.now());
  else if (!d.spec?.paused && pausedCondExists) next = newCondition(PROGRESSING, 'Unknown', RESUMED_DEPLOY_REASON, 'Deployment is resumed', deps.now());
  if (!next) return;
  d.status = { ...d.status };
  setCondition(d.status, next);
  await updateStatus(deps, d);
}

// ---- status ----

/** The counters and the Available condition the ReplicaSets say (upstream's calculateStatus). */
export function calculateStatus(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, nowMs: number): DeploymentStatus {
  const available = availableReplicaCount(allRSs);
  const total = replicaCount(allRSs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata?.generation ?? 0,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    // More available than desired (scaling down) is not "negative unavailable".
    unavailableReplicas: Math.max(total - available, 0),
    conditions: ((d.status?.conditions ?? []) as DeploymentStatus['conditions'])!.map((c) => ({ ...c })),
  };
  if (typeof d.status?.collisionCount === 'number') status.collisionCount = d.status.collisionCount;
  if (available >= specReplicas(d) - maxUnavailable(d)) {
    setCondition(status, newCondition(AVAILABLE, 'True', MINIMUM_REPLICAS_AVAILABLE, 'Deployment has minimum availability.', nowMs));
  } else {
    setCondition(status, newCondition(AVAILABLE, 'False', MINIMUM_REPLICAS_UNAVAILABLE, 'Deployment does not have minimum availability.', nowMs));
  }
  return normalizeStatus(status);
}

/** Writes the computed status when it differs (upstream's syncDeploymentStatus). */
export async function syncDeploymentStatus(deps: DeploymentDeps, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const status = calculateStatus(allRSs, newRS, d, deps.now());
  if (statusEqual(d.status, status)) return;
  d.status = status;
  await updateStatus(deps, d);
}

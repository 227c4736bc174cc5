/**
 * The ReplicaSet controller, after upstream's replicaset-controller: keeps `spec.replicas` active
 * pods matching a ReplicaSet's selector, adopting orphans and releasing pods that stopped matching.
 *
 * - Expectations: after creating or deleting n pods, the ReplicaSet is not counted again until the
 *   pod informer has seen those n (deletions tracked pod by pod), so a slow watch never doubles work.
 * - Creations go in slow-start batches (1, 2, 4, ...) and at most `burstReplicas` per sync;
 *   deletions pick pods in upstream's order (unscheduled, pending, not ready, ... first).
 * - Status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (minReadySeconds, with
 *   a requeue for when the next pod becomes available), observedGeneration and the ReplicaFailure
 *   condition when creating or deleting failed.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { labelSelectorFromSet, type LabelPredicate } from '../api/selectors.js';
import type { Informer } from '../client/informer.js';
import type { ControllerContext } from './context.js';
import { Expectations } from './expectations.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { PodControl } from './pod-control.js';
import { controllerRefOf, isPodActive, isPodAvailable, isPodReady, keyOf, newControllerRef, PODS, podCondition, REPLICA_SETS, rfc3339, splitKey } from './pods.js';
import {
  BY_CONTROLLER_UID,
  BY_NAMESPACE,
  ControllerRefManager,
  ensureNamespaceIndex,
  ensureOwnershipIndexes,
  ORPHANS_BY_NAMESPACE,
  podsToDelete,
  recheckOwner,
  selectorOf,
  selectsLabels,
  SLOW_START_INITIAL_BATCH_SIZE,
  slowStartBatch,
} from './controller-utils.js';

/** Upstream's BurstReplicas: the most pods created or deleted in one sync. */
export const BURST_REPLICAS = 500;
/** kube-controller-manager's --concurrent-replicaset-syncs default. */
export const REPLICA_SET_WORKERS = 5;

export interface ReplicaSetControllerOptions extends ControllerOptions {
  /** Pods created or deleted per sync at most (default 500). */
  burstReplicas?: number;
}

interface ReplicaSetCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaSetCondition[];
}

function isNamespaceTerminating(err: unknown): boolean {
  return err instanceof ApiError && err.code === 403 && (err.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

export class ReplicaSetController extends InformerController {
  private readonly replicaSets: Informer;
  private readonly pods: Informer;
  private readonly expectations: Expectations;
  private readonly podControl: PodControl;
  private readonly burstReplicas: number;

  constructor(
    private readonly ctx: ControllerContext,
    opts: ReplicaSetControllerOptions = {},
  ) {
    super('replicaset controller', { log: ctx.log, workers: REPLICA_SET_WORKERS, ...opts });
    this.burstReplicas = opts.burstReplicas ?? BURST_REPLICAS;
    this.expectations = new Expectations(ctx.now);
    this.podControl = new PodControl(ctx.client, ctx.recorder('replicaset-controller'));
    this.replicaSets = ctx.informers.informer(REPLICA_SETS);
    this.pods = ctx.informers.informer(PODS);
    ensureOwnershipIndexes(this.replicaSets);
    ensureNamespaceIndex(this.replicaSets);
    ensureOwnershipIndexes(this.pods);
    this.share(this.replicaSets, this.pods);

    this.replicaSets
      .onAdd((rs) => this.queue.add(keyOf(rs)))
      .onUpdate((old, cur) => {
        if (old.metadata?.uid !== cur.metadata?.uid) this.expectations.delete(keyOf(old));
        this.queue.add(keyOf(cur));
      })
      .onDelete((rs) => {
        this.expectations.delete(keyOf(rs));
        this.queue.add(keyOf(rs));
      });
    this.pods
      .onAdd((pod) => this.addPod(pod))
      .onUpdate((old, cur) => this.updatePod(old, cur))
      .onDelete((pod) => this.deletePod(pod));
  }

  // ---- event handlers (upstream's addPod / updatePod / deletePod) ----

  /** The ReplicaSet a controller reference points to, if it exists with that UID. */
  private resolveControllerRef(namespace: string, ref: { kind: string; name: string; uid: string } | undefined): KubeObject | undefined {
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = this.replicaSets.get(`${namespace}/${ref.name}`);
    return rs?.metadata?.uid === ref.uid ? rs : undefined;
  }

  /** ReplicaSets in the pod's namespace whose selector matches it: who may adopt an orphan (upstream's GetPodReplicaSets). */
  private replicaSetsMatching(pod: KubeObject): KubeObject[] {
    return this.replicaSets.byIndex(BY_NAMESPACE, pod.metadata?.namespace ?? '').filter((rs) => selectsLabels(rs, pod.metadata?.labels));
  }

  private addPod(pod: KubeObject): void {
    if (pod.metadata?.deletionTimestamp) {
      // A pod that shows up already being deleted (a restart of the controller) counts as a deletion.
      this.deletePod(pod);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const rs = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
      if (!rs) return;
      this.expectations.creationObserved(keyOf(rs));
      this.queue.add(keyOf(rs));
      return;
    }
    for (const rs of this.replicaSetsMatching(pod)) this.queue.add(keyOf(rs));
  }

  private updatePod(old: KubeObject, cur: KubeObject): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (cur.metadata?.deletionTimestamp) {
      // Marked for deletion: the pod is as good as gone for counting, as upstream sees it.
      this.deletePod(cur);
      if (labelsChanged) this.deletePod(old);
      return;
    }
    const ns = cur.metadata?.namespace ?? '';
    const oldRef = controllerRefOf(old);
    const curRef = controllerRefOf(cur);
    const refChanged = oldRef?.uid !== curRef?.uid;
    if (refChanged && oldRef) {
      const rs = this.resolveControllerRef(ns, oldRef);
      if (rs) this.queue.add(keyOf(rs));
    }
    if (curRef) {
      const rs = this.resolveControllerRef(ns, curRef);
      if (!rs) return;
      this.queue.add(keyOf(rs));
      // A pod that just turned ready becomes available minReadySeconds later: look again then.
      const minReady = Number(rs.spec?.minReadySeconds ?? 0);
      if (minReady > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(keyOf(rs), minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.replicaSetsMatching(cur)) this.queue.add(keyOf(rs));
  }

  private deletePod(pod: KubeObject): void {
    const rs = this.resolveControllerRef(pod.metadata?.namespace ?? '', controllerRefOf(pod));
    if (!rs) return;
    this.expectations.deletionObservedOf(keyOf(rs), keyOf(pod));
    this.queue.add(keyOf(rs));
  }

  // ---- reconcile ----

  override async reconcile(key: string): Promise<void> {
    const rs = this.replicaSets.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    let selector: LabelPredicate;
    try {
      selector = selectorOf(rs);
    } catch (err) {
      // Validation keeps bad selectors out; one that got in is not worth retrying.
      this.ctx.log?.(`replicaset ${key}: invalid selector: ${(err as Error).message}`);
      return;
    }
    const pods = await this.claimPods(rs, selector);

    let manageError: unknown;
    if (needsSync && !rs.metadata?.deletionTimestamp) {
      try {
        await this.manageReplicas(key, pods, rs);
      } catch (err) {
        manageError = err;
      }
    }
    const nowMs = this.ctx.now();
    const status = calculateStatus(rs, pods, manageError, nowMs);
    await this.updateStatus(rs, status);
    if (manageError !== undefined) throw manageError;
    const wait = nextAvailableInMs(rs, pods, nowMs);
    if (wait !== undefined) this.queue.addAfter(key, wait);
  }

  /** The active pods the ReplicaSet owns after adoption and release (upstream's claimPods over FilterActivePods). */
  private async claimPods(rs: KubeObject, selector: LabelPredicate): Promise<KubeObject[]> {
    const ns = rs.metadata?.namespace ?? '';
    const candidates = [...this.pods.byIndex(BY_CONTROLLER_UID, rs.metadata!.uid!), ...this.pods.byIndex(ORPHANS_BY_NAMESPACE, ns)].filter(isPodActive);
    const manager = new ControllerRefManager({
      client: this.ctx.client,
      resource: PODS,
      owner: rs,
      ownerApiVersion: 'apps/v1',
      ownerKind: 'ReplicaSet',
      selector,
      canAdopt: recheckOwner(this.ctx.client, REPLICA_SETS, rs),
    });
    return manager.claim(candidates);
  }

  /** Creates or deletes pods toward spec.replicas (upstream's manageReplicas). */
  private async manageReplicas(key: string, pods: KubeObject[], rs: KubeObject): Promise<void> {
    const want = Number(rs.spec?.replicas ?? 1);
    const diff = pods.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, this.burstReplicas);
      this.expectations.expectCreations(key, n);
      const ref = newControllerRef(rs, 'apps/v1', 'ReplicaSet');
      const template = rs.spec?.template ?? {};
      const { successes, error } = await slowStartBatch(n, SLOW_START_INITIAL_BATCH_SIZE, async () => {
        try {
          await this.podControl.create(rs, template, ref);
        } catch (err) {
          // Every create will fail in a terminating namespace; that is no failure of ours.
          if (isNamespaceTerminating(err)) return;
          throw err;
        }
      });
      // Creations never tried (or failed) will never be observed.
      for (let i = successes; i < n; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw error;
      return;
    }
    if (diff > 0) {
      const n = Math.min(diff, this.burstReplicas);
      const victims = podsToDelete(pods, this.relatedPods(rs), n, this.ctx.now());
      this.expectations.expectDeletionsOf(
        key,
        victims.map((p) => keyOf(p)),
      );
      const results = await Promise.allSettled(
        victims.map(async (pod) => {
          try {
            await this.podControl.delete(rs, pod);
          } catch (err) {
            // The informer will never see a deletion that did not happen.
            this.expectations.deletionObservedOf(key, keyOf(pod));
            throw err;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  /**
   * The pods of every ReplicaSet with the same controller as `rs` (one Deployment's ReplicaSets):
   * a pod doubled up on a node with its relatives is deleted first. Upstream's getIndirectlyRelatedPods.
   */
  private relatedPods(rs: KubeObject): KubeObject[] {
    const owner = controllerRefOf(rs);
    if (!owner) return [];
    const out: KubeObject[] = [];
    for (const related of this.replicaSets.byIndex(BY_CONTROLLER_UID, owner.uid)) {
      if (related.metadata?.namespace !== rs.metadata?.namespace) continue;
      out.push(...this.pods.byIndex(BY_CONTROLLER_UID, related.metadata!.uid!));
    }
    return out;
  }

  /** Writes the status when it changed (upstream's updateReplicaSetStatus); a conflict is retried by requeueing. */
  private async updateStatus(rs: KubeObject, status: ReplicaSetStatus): Promise<void> {
    const cur = (rs.status ?? {}) as Partial<ReplicaSetStatus>;
    const generation = rs.metadata?.generation ?? 0;
    if (
      (cur.replicas ?? 0) === status.replicas &&
      (cur.fullyLabeledReplicas ?? 0) === (status.fullyLabeledReplicas ?? 0) &&
      (cur.readyReplicas ?? 0) === (status.readyReplicas ?? 0) &&
      (cur.availableReplicas ?? 0) === (status.availableReplicas ?? 0) &&
      (cur.observedGeneration ?? 0) === generation &&
      JSON.stringify(cur.conditions ?? []) === JSON.stringify(status.conditions ?? [])
    ) {
      return;
    }
    if (generation) status.observedGeneration = generation;
    const { namespace } = splitKey(keyOf(rs));
    await this.ctx.client.update(REPLICA_SETS, namespace, { ...rs, status }, { subresource: 'status' });
  }
}

/**
 * The status the pods say (upstream's calculateStatus): zero counts are left out as upstream's
 * omitempty leaves them out, but `replicas`, which upstream always writes.
 */
export function calculateStatus(rs: KubeObject, pods: readonly KubeObject[], manageError: unknown, nowMs: number): ReplicaSetStatus {
  const templateLabels = labelSelectorFromSet(rs.spec?.template?.metadata?.labels);
  const minReady = Number(rs.spec?.minReadySeconds ?? 0);
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (templateLabels.matches(pod.metadata?.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, nowMs)) available++;
    }
  }
  let conditions = ((rs.status?.conditions ?? []) as ReplicaSetCondition[]).map((c) => ({ ...c }));
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (manageError !== undefined && !failure) {
    const diff = pods.length - Number(rs.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    const cond: ReplicaSetCondition = { type: 'ReplicaFailure', status: 'True', lastTransitionTime: rfc3339(nowMs), reason, message: (manageError as Error)?.message ?? String(manageError) };
    if (!cond.reason) delete cond.reason;
    conditions.push(cond);
  } else if (manageError === undefined && failure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  const status: ReplicaSetStatus = { replicas: pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  if (rs.status?.observedGeneration) status.observedGeneration = rs.status.observedGeneration;
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/** How long until the next ready pod has been ready for minReadySeconds (undefined: none is waiting). */
export function nextAvailableInMs(rs: KubeObject, pods: readonly KubeObject[], nowMs: number): number | undefined {
  const minReady = Number(rs.spec?.minReadySeconds ?? 0);
  if (minReady <= 0) return undefined;
  let next: number | undefined;
  for (const pod of pods) {
    if (!isPodReady(pod) || isPodAvailable(pod, minReady, nowMs)) continue;
    const since = Date.parse(podCondition(pod, 'Ready')?.lastTransitionTime ?? '');
    // Without a transition time a pod never counts as available (as upstream): nothing to wait for.
    if (!Number.isFinite(since)) continue;
    next = Math.min(next ?? Infinity, Math.max(since + minReady * 1000 - nowMs, 0) + 1);
  }
  return next;
}

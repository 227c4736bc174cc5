/**
 * The Deployment controller, after upstream's deployment-controller: a Deployment owns ReplicaSets
 * (one per pod template, named `<deployment>-<pod-template-hash>`) and moves pods from the old ones
 * to the new one by its strategy (RollingUpdate or Recreate), keeping revisions, conditions and
 * status counters as kubectl's `rollout status|history|undo` expect them.
 *
 * A sync (upstream's syncDeployment) claims ReplicaSets by selector and controller reference, then:
 * being deleted → status only; paused → scale and status; a deprecated rollback annotation →
 * rollback; a change of replicas → proportional scaling; otherwise the strategy's rollout.
 */
import type { KubeObject } from '../../api/types.js';
import type { LabelPredicate } from '../../api/selectors.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import type { ControllerContext } from '../context.js';
import { BY_CONTROLLER_UID, BY_NAMESPACE, ControllerRefManager, ensureNamespaceIndex, ensureOwnershipIndexes, ORPHANS_BY_NAMESPACE, recheckOwner, selectorOf, selectsLabels } from '../controller-utils.js';
import { InformerController, type ControllerOptions } from '../informer-controller.js';
import { controllerRefOf, DEPLOYMENTS, keyOf, PODS, REPLICA_SETS } from '../pods.js';
import { rolloutRecreate } from './recreate.js';
import { getRollbackTo, rollback } from './rollback.js';
import { rolloutRolling } from './rolling.js';
import { checkPausedConditions, isScalingEvent, sync, syncStatusOnly, updateStatus, type DeploymentDeps } from './sync.js';
import type { Deployment, ReplicaSet } from './util.js';

export type DeploymentControllerOptions = ControllerOptions;

/** kube-controller-manager's --concurrent-deployment-syncs default. */
export const DEPLOYMENT_WORKERS = 5;

export class DeploymentController extends InformerController {
  private readonly deployments: Informer;
  private readonly replicaSets: Informer;
  private readonly pods: Informer;
  private readonly recorder: EventRecorder;
  private readonly deps: DeploymentDeps;

  constructor(
    private readonly ctx: ControllerContext,
    opts: DeploymentControllerOptions = {},
  ) {
    super('deployment controller', { log: ctx.log, workers: DEPLOYMENT_WORKERS, ...opts });
    this.recorder = ctx.recorder('deployment-controller');
    this.deployments = ctx.informers.informer(DEPLOYMENTS);
    this.replicaSets = ctx.informers.informer(REPLICA_SETS);
    this.pods = ctx.informers.informer(PODS);
    ensureNamespaceIndex(this.deployments);
    ensureOwnershipIndexes(this.replicaSets);
    ensureOwnershipIndexes(this.pods);
    this.share(this.deployments, this.replicaSets, this.pods);
    this.deps = {
      client: ctx.client,
      recorder: this.recorder,
      now: () => ctx.now(),
      replicaSet: (key) => this.replicaSets.get(key),
      podsOf: (uid) => this.pods.byIndex(BY_CONTROLLER_UID, uid),
      enqueueAfter: (d, ms) => this.queue.addAfter(keyOf(d), ms),
    };

    const enqueue = (d: KubeObject) => this.queue.add(keyOf(d));
    this.deployments
      .onAdd(enqueue)
      .onUpdate((_old, cur) => enqueue(cur))
      .onDelete(enqueue);
    this.replicaSets
      .onAdd((rs) => this.addReplicaSet(rs))
      .onUpdate((old, cur) => this.updateReplicaSet(old, cur))
      .onDelete((rs) => this.deleteReplicaSet(rs));
    this.pods.onDelete((pod) => this.deletePod(pod));
  }

  // ---- event handlers ----

  /** The Deployment a controller reference points to, if it exists with that UID. */
  private resolveControllerRef(namespace: string, ref: { kind: string; name: string; uid: string } | undefined): Deployment | undefined {
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = this.deployments.get(`${namespace}/${ref.name}`);
    return d?.metadata?.uid === ref.uid ? d : undefined;
  }

  /** Deployments in the ReplicaSet's namespace whose selector matches it: who may adopt an orphan. */
  private deploymentsMatching(rs: ReplicaSet): Deployment[] {
    return this.deployments.byIndex(BY_NAMESPACE, rs.metadata?.namespace ?? '').filter((d) => selectsLabels(d, rs.metadata?.labels));
  }

  private addReplicaSet(rs: ReplicaSet): void {
    if (rs.metadata?.deletionTimestamp) {
      this.deleteReplicaSet(rs);
      return;
    }
    const ref = controllerRefOf(rs);
    if (ref) {
      const d = this.resolveControllerRef(rs.metadata?.namespace ?? '', ref);
      if (d) this.queue.add(keyOf(d));
      return;
    }
    for (const d of this.deploymentsMatching(rs)) this.queue.add(keyOf(d));
  }

  private updateReplicaSet(old: ReplicaSet, cur: ReplicaSet): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const ns = cur.metadata?.namespace ?? '';
    const oldRef = controllerRefOf(old);
    const curRef = controllerRefOf(cur);
    const refChanged = oldRef?.uid !== curRef?.uid;
    if (refChanged && oldRef) {
      const d = this.resolveControllerRef(ns, oldRef);
      if (d) this.queue.add(keyOf(d));
    }
    if (curRef) {
      const d = this.resolveControllerRef(ns, curRef);
      if (d) this.queue.add(keyOf(d));
      return;
    }
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.deploymentsMatching(cur)) this.queue.add(keyOf(d));
  }

  private deleteReplicaSet(rs: ReplicaSet): void {
    const d = this.resolveControllerRef(rs.metadata?.namespace ?? '', controllerRefOf(rs));
    if (d) this.queue.add(keyOf(d));
  }

  /** A Recreate rollout waits for the last old pod to go: its deletion is what it waits for. */
  private deletePod(pod: KubeObject): void {
    const ns = pod.metadata?.namespace ?? '';
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.replicaSets.get(`${ns}/${ref.name}`);
    if (!rs || rs.metadata?.uid !== ref.uid) return;
    const d = this.resolveControllerRef(ns, controllerRefOf(rs));
    if (!d || d.spec?.strategy?.type !== 'Recreate') return;
    const left = this.replicaSets.byIndex(BY_CONTROLLER_UID, d.metadata!.uid!).some((r) => this.pods.byIndex(BY_CONTROLLER_UID, r.metadata!.uid!).length > 0);
    if (!left) this.queue.add(keyOf(d));
  }

  // ---- reconcile ----

  override async reconcile(key: string): Promise<void> {
    const cached = this.deployments.get(key);
    if (!cached) return;
    const d = structuredClone(cached) as Deployment;
    d.status ??= {};

    const sel = d.spec?.selector;
    if (sel && typeof sel === 'object' && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0) {
      this.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        d.status.observedGeneration = d.metadata?.generation;
        await updateStatus(this.deps, d);
      }
      return;
    }
    let selector: LabelPredicate;
    try {
      selector = selectorOf(cached);
    } catch (err) {
      this.ctx.log?.(`deployment ${key} has invalid label selector: ${(err as Error).message}`);
      return;
    }
    const rsList = await this.claimReplicaSets(d, selector);

    if (d.metadata?.deletionTimestamp) return syncStatusOnly(this.deps, d, rsList);
    await checkPausedConditions(this.deps, d);
    if (d.spec?.paused) return sync(this.deps, d, rsList);
    if (getRollbackTo(d) !== undefined) return rollback(this.deps, d, rsList);
    if (await isScalingEvent(this.deps, d, rsList)) return sync(this.deps, d, rsList);
    switch (d.spec?.strategy?.type) {
      case 'Recreate':
        return rolloutRecreate(this.deps, d, rsList);
      case 'RollingUpdate':
        return rolloutRolling(this.deps, d, rsList);
      default:
        throw new Error(`unexpected deployment strategy type: ${d.spec?.strategy?.type}`);
    }
  }

  /** The ReplicaSets the Deployment owns after adoption and release (upstream's getReplicaSetsForDeployment). */
  private async claimReplicaSets(d: Deployment, selector: LabelPredicate): Promise<ReplicaSet[]> {
    const ns = d.metadata!.namespace!;
    const candidates = [...this.replicaSets.byIndex(BY_CONTROLLER_UID, d.metadata!.uid!), ...this.replicaSets.byIndex(ORPHANS_BY_NAMESPACE, ns)];
    const manager = new ControllerRefManager({
      client: this.ctx.client,
      resource: REPLICA_SETS,
      owner: d,
      ownerApiVersion: 'apps/v1',
      ownerKind: 'Deployment',
      selector,
      canAdopt: recheckOwner(this.ctx.client, DEPLOYMENTS, d),
    });
    return manager.claim(candidates);
  }
}

/**
 * The disruption controller, after upstream's (kube-controller-manager 1.30): every
 * PodDisruptionBudget's status says how many of its pods are healthy (ready, not terminating, not
 * promised away to an eviction), how many must stay healthy, and so how many disruptions the
 * eviction subresource may still allow. The expected number of pods comes from the pods' controllers
 * (ReplicationController, Deployment, ReplicaSet, StatefulSet replicas) except for an integer
 * minAvailable, which counts the selected pods. Evictions note their pods in status.disruptedPods;
 * an entry stays until its pod is terminating or gone, or for two minutes at most.
 *
 * When the status cannot be computed (a pod without a known controller under a percentage or
 * maxUnavailable budget, a malformed value), the budget fails safe: no disruptions allowed and
 * DisruptionAllowed=False with reason SyncFailed. Level-based: a settled budget is never rewritten.
 *
 * A pod an eviction marked DisruptionTarget=True but that was never deleted has the condition set
 * back to False after two minutes, as upstream's stale-pod-disruption worker does.
 *
 * Not done (yet): controllers other than the four built-ins (upstream asks their scale subresource).
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import {
  DISRUPTION_ALLOWED,
  INSUFFICIENT_PODS,
  SUFFICIENT_PODS,
  SYNC_FAILED,
  budgetSelectsPod,
  setBudgetCondition,
  updateDisruptionAllowedCondition,
  type BudgetStatus,
} from '../api/disruption-budget.js';
import type { LabelSelectorObject } from '../api/selectors.js';
import type { EventRecorder } from '../client/events.js';
import type { Informer } from '../client/informer.js';
import type { ResourceRef } from '../client/interface.js';
import type { ControllerContext } from './context.js';
import { scaledValueFromIntOrPercent } from './deployment/util.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { DEPLOYMENTS, PODS, REPLICA_SETS, STATEFUL_SETS, controllerRefOf, isPodReady, keyOf, podCondition, rfc3339, splitKey, type PodCondition } from './pods.js';
import { NAMESPACE_INDEX, byNamespace, ensureIndexer } from './service-pods.js';

export const PDBS: ResourceRef = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' };
const REPLICATION_CONTROLLERS: ResourceRef = { group: '', version: 'v1', resource: 'replicationcontrollers' };

/** Upstream's DeletionTimeout: how long an evicted pod may linger before the budget counts it again. */
const DELETION_TIMEOUT_MS = 2 * 60 * 1000;
/** Upstream's stalePodDisruptionTimeout. */
const STALE_POD_DISRUPTION_TIMEOUT_MS = 2 * 60 * 1000;
/** Queue keys of pods whose DisruptionTarget may go stale; budget keys never hold a colon. */
const STALE_POD_PREFIX = 'pod:';

export interface DisruptionControllerOptions extends ControllerOptions {
  /** How long a pod in status.disruptedPods is expected to go away within (default 2 minutes). */
  deletionTimeoutMs?: number;
  /** How long a DisruptionTarget=True may stay on a pod that is not terminating (default 2 minutes). */
  stalePodDisruptionTimeoutMs?: number;
}

interface Expected {
  expectedCount: number;
  desiredHealthy: number;
  unmanagedPods: string[];
}

export class DisruptionController extends InformerController {
  private readonly budgets: Informer;
  private readonly pods: Informer;
  private readonly replicaSets: Informer;
  private readonly deployments: Informer;
  private readonly statefulSets: Informer;
  private readonly replicationControllers: Informer;
  private readonly recorder: EventRecorder;
  private readonly deletionTimeoutMs: number;
  private readonly staleTimeoutMs: number;

  constructor(
    private readonly ctx: ControllerContext,
    opts: DisruptionControllerOptions = {},
  ) {
    super('disruption controller', { log: ctx.log, ...opts });
    this.deletionTimeoutMs = opts.deletionTimeoutMs ?? DELETION_TIMEOUT_MS;
    this.staleTimeoutMs = opts.stalePodDisruptionTimeoutMs ?? STALE_POD_DISRUPTION_TIMEOUT_MS;
    // Upstream's disruption controller records as "controllermanager".
    this.recorder = ctx.recorder('controllermanager');
    this.budgets = ctx.informers.informer(PDBS);
    this.pods = ctx.informers.informer(PODS);
    this.replicaSets = ctx.informers.informer(REPLICA_SETS);
    this.deployments = ctx.informers.informer(DEPLOYMENTS);
    this.statefulSets = ctx.informers.informer(STATEFUL_SETS);
    this.replicationControllers = ctx.informers.informer(REPLICATION_CONTROLLERS);
    ensureIndexer(this.budgets, NAMESPACE_INDEX, byNamespace);
    ensureIndexer(this.pods, NAMESPACE_INDEX, byNamespace);
    this.share(this.budgets, this.pods, this.replicaSets, this.deployments, this.statefulSets, this.replicationControllers);

    const enqueue = (pdb: KubeObject) => this.queue.add(keyOf(pdb));
    this.budgets.onAdd(enqueue).onUpdate((_o, pdb) => enqueue(pdb)).onDelete(enqueue);
    const enqueueBudgetsOf = (pod: KubeObject) => {
      for (const pdb of this.budgets.byIndex(NAMESPACE_INDEX, pod.metadata?.namespace ?? '')) if (budgetSelectsPod(pdb, pod)) enqueue(pdb);
    };
    const enqueueStale = (pod: KubeObject) => {
      const wait = this.staleDisruptionWait(pod);
      if (wait !== undefined) this.queue.addAfter(STALE_POD_PREFIX + keyOf(pod), wait);
    };
    this.pods
      .onAdd((pod) => {
        enqueueBudgetsOf(pod);
        enqueueStale(pod);
      })
      .onUpdate((old, pod) => {
        enqueueBudgetsOf(pod);
        // A relabelled pod leaves the budgets that selected it.
        if (old.metadata?.labels !== pod.metadata?.labels) enqueueBudgetsOf(old);
        enqueueStale(pod);
      })
      .onDelete(enqueueBudgetsOf);
  }

  override async reconcile(key: string): Promise<void> {
    if (key.startsWith(STALE_POD_PREFIX)) return this.syncStalePodDisruption(key.slice(STALE_POD_PREFIX.length));
    const pdb = this.budgets.get(key);
    if (!pdb) return;
    try {
      await this.trySync(pdb);
    } catch (err) {
      // A conflict only means our copy is old: retry, without failing safe.
      if (err instanceof ApiError && err.code === 409) throw err;
      await this.failSafe(pdb, err instanceof Error ? err.message : String(err));
    }
  }

  private async trySync(pdb: KubeObject): Promise<void> {
    const { namespace } = splitKey(keyOf(pdb));
    const pods = this.pods.byIndex(NAMESPACE_INDEX, namespace).filter((p) => budgetSelectsPod(pdb, p));
    if (pods.length === 0) this.recorder.event(pdb, 'Normal', 'NoPods', 'No matching pods found');

    let expected: Expected;
    try {
      expected = this.expectedPodCount(pdb, pods);
    } catch (err) {
      this.recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${(err as Error).message}`);
      throw err;
    }
    if (expected.unmanagedPods.length > 0) {
      this.recorder.event(
        pdb,
        'Warning',
        'UnmanagedPods',
        `Pods selected by this PodDisruptionBudget (selector: ${goLabelSelector(pdb.spec?.selector)}) were found to be unmanaged. ` +
          'As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. ' +
          'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
      );
    }

    const now = this.ctx.now();
    const { disruptedPods, recheckAt } = this.disruptedPodMap(pdb, pods, now);
    const currentHealthy = this.countHealthy(pods, disruptedPods, now);
    await this.updateStatus(pdb, currentHealthy, expected, disruptedPods);
    if (recheckAt !== undefined) this.queue.addAfter(keyOf(pdb), Math.max(0, recheckAt - now));
  }

  /** Upstream's getExpectedPodCount: what the budget counts against, and how many must stay healthy. */
  private expectedPodCount(pdb: KubeObject, pods: KubeObject[]): Expected {
    const spec = (pdb.spec ?? {}) as { minAvailable?: unknown; maxUnavailable?: unknown };
    if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
      const { expectedCount, unmanagedPods } = this.expectedScale(pods);
      const maxUnavailable = scaledValueFromIntOrPercent(spec.maxUnavailable, expectedCount, true);
      return { expectedCount, desiredHealthy: Math.max(0, expectedCount - maxUnavailable), unmanagedPods };
    }
    if (typeof spec.minAvailable === 'number') return { expectedCount: pods.length, desiredHealthy: spec.minAvailable, unmanagedPods: [] };
    if (typeof spec.minAvailable === 'string') {
      const { expectedCount, unmanagedPods } = this.expectedScale(pods);
      return { expectedCount, desiredHealthy: scaledValueFromIntOrPercent(spec.minAvailable, expectedCount, true), unmanagedPods };
    }
    return { expectedCount: 0, desiredHealthy: 0, unmanagedPods: [] };
  }

  /** Upstream's getExpectedScale: the summed replicas of the pods' controllers, each counted once. */
  private expectedScale(pods: KubeObject[]): { expectedCount: number; unmanagedPods: string[] } {
    const scales = new Map<string, number>();
    const unmanagedPods: string[] = [];
    for (const pod of pods) {
      const ref = controllerRefOf(pod);
      if (!ref) {
        unmanagedPods.push(pod.metadata?.name ?? '');
        continue;
      }
      if (scales.has(ref.uid)) continue;
      const found = this.controllerScale(ref, pod.metadata?.namespace ?? '');
      if (!found) throw new Error(`found no controllers for pod "${pod.metadata?.name ?? ''}"`);
      scales.set(found.uid, found.scale);
    }
    let expectedCount = 0;
    for (const s of scales.values()) expectedCount += s;
    return { expectedCount, unmanagedPods };
  }

  /** Upstream's finders, in their order: ReplicationController, Deployment (through its ReplicaSet), ReplicaSet, StatefulSet. */
  private controllerScale(ref: { apiVersion: string; kind: string; name: string; uid: string }, namespace: string): { uid: string; scale: number } | undefined {
    const group = ref.apiVersion.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.indexOf('/')) : '';
    const owned = (inf: Informer, name: string, uid: string) => {
      const obj = inf.get(`${namespace}/${name}`);
      return obj && obj.metadata?.uid === uid ? obj : undefined;
    };
    const replicas = (obj: KubeObject) => (typeof obj.spec?.replicas === 'number' ? obj.spec.replicas : 1);
    if (ref.kind === 'ReplicationController' && group === '') {
      const rc = owned(this.replicationControllers, ref.name, ref.uid);
      if (rc) return { uid: ref.uid, scale: replicas(rc) };
    }
    if (ref.kind === 'ReplicaSet' && (group === 'apps' || group === 'extensions')) {
      const rs = owned(this.replicaSets, ref.name, ref.uid);
      if (!rs) return undefined;
      const owner = controllerRefOf(rs);
      if (owner?.kind === 'Deployment') {
        const ownerGroup = owner.apiVersion.split('/')[0];
        const dep = ownerGroup === 'apps' || ownerGroup === 'extensions' ? owned(this.deployments, owner.name, owner.uid) : undefined;
        return dep ? { uid: owner.uid, scale: replicas(dep) } : undefined;
      }
      return { uid: ref.uid, scale: replicas(rs) };
    }
    if (ref.kind === 'StatefulSet' && group === 'apps') {
      const ss = owned(this.statefulSets, ref.name, ref.uid);
      if (ss) return { uid: ref.uid, scale: replicas(ss) };
    }
    return undefined;
  }

  /** Upstream's buildDisruptedPodMap: evictions still expected to land, and when to look again. */
  private disruptedPodMap(pdb: KubeObject, pods: KubeObject[], now: number): { disruptedPods: Record<string, string>; recheckAt?: number } {
    const previous = ((pdb.status ?? {}) as BudgetStatus).disruptedPods ?? {};
    const disruptedPods: Record<string, string> = {};
    let recheckAt: number | undefined;
    for (const pod of pods) {
      if (pod.metadata?.deletionTimestamp) continue;
      const name = pod.metadata?.name ?? '';
      const at = previous[name];
      if (at === undefined) continue;
      const expectedDeletion = Date.parse(at) + this.deletionTimeoutMs;
      if (!(expectedDeletion >= now)) {
        this.recorder.event(pod, 'Warning', 'NotDeleted', `Pod was expected by PDB ${pdb.metadata?.namespace}/${pdb.metadata?.name} to be deleted but it wasn't`);
        continue;
      }
      disruptedPods[name] = at;
      if (recheckAt === undefined || expectedDeletion < recheckAt) recheckAt = expectedDeletion;
    }
    return { disruptedPods, recheckAt };
  }

  private countHealthy(pods: KubeObject[], disruptedPods: Record<string, string>, now: number): number {
    let healthy = 0;
    for (const pod of pods) {
      if (pod.metadata?.deletionTimestamp) continue;
      const at = disruptedPods[pod.metadata?.name ?? ''];
      if (at !== undefined && Date.parse(at) + this.deletionTimeoutMs > now) continue;
      if (isPodReady(pod)) healthy++;
    }
    return healthy;
  }

  private async updateStatus(pdb: KubeObject, currentHealthy: number, expected: Expected, disruptedPods: Record<string, string>): Promise<void> {
    const old = (pdb.status ?? {}) as BudgetStatus;
    const generation = pdb.metadata?.generation ?? 0;
    let disruptionsAllowed = currentHealthy - expected.desiredHealthy;
    // A budget that expects no pods yet allows nothing, so its first pods are safe before it syncs.
    if (expected.expectedCount <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;
    if (
      (old.currentHealthy ?? 0) === currentHealthy &&
      (old.desiredHealthy ?? 0) === expected.desiredHealthy &&
      (old.expectedPods ?? 0) === expected.expectedCount &&
      (old.disruptionsAllowed ?? 0) === disruptionsAllowed &&
      sameMap(old.disruptedPods ?? {}, disruptedPods) &&
      (old.observedGeneration ?? 0) === generation &&
      conditionsUpToDate(old, generation)
    ) {
      return;
    }
    const status: BudgetStatus = {
      currentHealthy,
      desiredHealthy: expected.desiredHealthy,
      expectedPods: expected.expectedCount,
      disruptionsAllowed,
      observedGeneration: generation,
      conditions: old.conditions ?? [],
    };
    if (Object.keys(disruptedPods).length > 0) status.disruptedPods = disruptedPods;
    updateDisruptionAllowedCondition(status, rfc3339(this.ctx.now()));
    await this.writeStatus(pdb, status);
  }

  /** Upstream's failSafe: when the status cannot be computed, at least allow no disruption. */
  private async failSafe(pdb: KubeObject, message: string): Promise<void> {
    const old = (pdb.status ?? {}) as BudgetStatus;
    const generation = old.observedGeneration ?? 0;
    const cond = (old.conditions ?? []).find((c) => c.type === DISRUPTION_ALLOWED);
    const failed = cond?.status === 'False' && cond.reason === SYNC_FAILED && cond.message === message && (cond.observedGeneration ?? 0) === generation;
    if (failed && (old.disruptionsAllowed ?? 0) === 0) return;
    const status: BudgetStatus = { ...old, disruptionsAllowed: 0 };
    setBudgetCondition(status, { type: DISRUPTION_ALLOWED, status: 'False', reason: SYNC_FAILED, message, observedGeneration: generation }, rfc3339(this.ctx.now()));
    await this.writeStatus(pdb, status);
  }

  /**
   * Upstream's nonTerminatingPodHasStaleDisruptionCondition: how long until the pod's
   * DisruptionTarget=True goes stale, or undefined when it cannot (none, set by the kubelet, or the
   * pod is terminating or terminal and so really disrupted).
   */
  private staleDisruptionWait(pod: KubeObject): number | undefined {
    if (pod.metadata?.deletionTimestamp) return undefined;
    const cond = podCondition(pod, 'DisruptionTarget');
    const phase = pod.status?.phase;
    if (!cond || cond.status !== 'True' || cond.reason === 'TerminationByKubelet' || phase === 'Succeeded' || phase === 'Failed') return undefined;
    const since = Date.parse(cond.lastTransitionTime ?? '');
    return Math.max(0, this.staleTimeoutMs - (this.ctx.now() - (Number.isNaN(since) ? 0 : since)));
  }

  private async syncStalePodDisruption(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod) return;
    const wait = this.staleDisruptionWait(pod);
    if (wait === undefined) return;
    if (wait > 0) {
      this.queue.addAfter(STALE_POD_PREFIX + key, wait);
      return;
    }
    const conditions = ((pod.status?.conditions ?? []) as PodCondition[]).map((c) =>
      c.type === 'DisruptionTarget' ? { type: c.type, status: 'False' as const, lastProbeTime: null, lastTransitionTime: rfc3339(this.ctx.now()) } : c,
    );
    await this.ctx.client.update(PODS, pod.metadata!.namespace!, { ...pod, status: { ...pod.status, conditions } }, { subresource: 'status' });
  }

  private async writeStatus(pdb: KubeObject, status: BudgetStatus): Promise<void> {
    // An update, not a patch: the resourceVersion makes a concurrent eviction's decrement win.
    await this.ctx.client.update(PDBS, pdb.metadata!.namespace!, { ...pdb, status: status as Record<string, unknown> }, { subresource: 'status' });
  }
}

/** Upstream's pdbhelper.ConditionsAreUpToDate. */
function conditionsUpToDate(status: BudgetStatus, generation: number): boolean {
  const cond = (status.conditions ?? []).find((c) => c.type === DISRUPTION_ALLOWED);
  if (!cond || (status.observedGeneration ?? 0) !== generation) return false;
  if ((status.disruptionsAllowed ?? 0) > 0) return cond.status === 'True' && cond.reason === SUFFICIENT_PODS;
  return cond.status === 'False' && cond.reason === INSUFFICIENT_PODS;
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** A *metav1.LabelSelector as Go's %v prints it, for the UnmanagedPods event. */
function goLabelSelector(sel: LabelSelectorObject | null | undefined): string {
  if (!sel) return '<nil>';
  const labels = Object.entries(sel.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}: ${v},`)
    .join('');
  const exprs = (sel.matchExpressions ?? []).map((e) => `LabelSelectorRequirement{Key:${e.key},Operator:${e.operator},Values:[${(e.values ?? []).join(' ')}],},`).join('');
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${exprs}},}`;
}

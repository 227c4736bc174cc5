/**
 * The DaemonSet controller, after upstream's daemon controller (kube-controller-manager v1.30):
 * one pod per eligible node, created unbound with a node affinity pinning it to its node (the
 * scheduler binds it), labelled with the current ControllerRevision's hash and the template
 * generation; pods on nodes that no longer fit are deleted, failed pods replaced with a backoff;
 * RollingUpdate (maxUnavailable or maxSurge) and OnDelete; a revision history of ControllerRevisions
 * named `<ds>-<hash>`, trimmed to revisionHistoryLimit; the status kubectl rollout status reads.
 *
 * It reads DaemonSets, ControllerRevisions, pods and nodes through shared informers, counts its own
 * pod creations and deletions with expectations (so a lagging watch never doubles a pod), and writes
 * nothing when the world already matches.
 */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import { labelSelectorFromObject, type LabelPredicate } from '../../api/selectors.js';
import { DAEMONSET_TEMPLATE_GENERATION } from '../../api/validation/apps.js';
import type { Informer } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import type { EventRecorder } from '../../client/events.js';
import type { ControllerContext } from '../context.js';
import { Expectations } from '../expectations.js';
import { InformerController, type ControllerOptions } from '../informer-controller.js';
import { PodControl } from '../pod-control.js';
import { CONTROLLER_REVISIONS, DAEMON_SETS, NODES, PODS, controllerRefOf, isPodAvailable, isPodReady, isPodTerminal, keyOf, newControllerRef, splitKey } from '../pods.js';
import {
  CONTROLLER_REVISION_HASH_LABEL,
  claimCandidates,
  claimObjects,
  deleteRevision,
  hashTemplate,
  indexByController,
  maxRevision,
  recheckOwner,
  revisionDataBytes,
  revisionNumber,
  setRevisionNumber,
  sortRevisions,
  templatePatchBytes,
  templatePatchOf,
} from '../history.js';
import { pinToNode, placementOn, targetNodeName, withDaemonTolerations } from './placement.js';
import {
  POD_TEMPLATE_GENERATION_LABEL,
  allowsSurge,
  compareDaemonPods,
  isPodUpdated,
  readyAndAvailable,
  rollingUpdateStep,
  surgeCount,
  unavailableCount,
} from './rollout.js';

const COMPONENT = 'daemonset-controller';
const API_VERSION = 'apps/v1';
const KIND = 'DaemonSet';
/** Upstream's BurstReplicas: creations or deletions per sync at most. */
const BURST_REPLICAS = 250;
/** The failed-pod backoff kube-controller-manager gives the DaemonSet controller. */
const FAILED_POD_BACKOFF_INITIAL_MS = 1000;
const FAILED_POD_BACKOFF_MAX_MS = 15 * 60 * 1000;

export interface DaemonSetControllerOptions extends ControllerOptions {
  /** Pods created (and deleted) per sync at most (default 250, as upstream). */
  burstReplicas?: number;
  /** Backoff between deletions of a failed daemon pod on one node (default 1 s doubling to 15 min). */
  failedPodBackoff?: { initialMs: number; maxMs: number };
}

type NodeToDaemonPods = Map<string, KubeObject[]>;

/** Upstream's flowcontrol.Backoff, as the DaemonSet controller uses it for failed pods. */
class Backoff {
  private readonly entries = new Map<string, { backoff: number; lastUpdate: number }>();
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}
  private expired(now: number, lastUpdate: number): boolean {
    return now - lastUpdate > 2 * this.maxMs;
  }
  inBackoffSinceUpdate(key: string, now: number): boolean {
    const e = this.entries.get(key);
    return e !== undefined && !this.expired(now, e.lastUpdate) && now - e.lastUpdate < e.backoff;
  }
  delay(key: string): number {
    return this.entries.get(key)?.backoff ?? 0;
  }
  next(key: string, now: number): void {
    const e = this.entries.get(key);
    if (!e || this.expired(now, e.lastUpdate)) this.entries.set(key, { backoff: this.initialMs, lastUpdate: now });
    else {
      e.backoff = Math.min(e.backoff * 2, this.maxMs);
      e.lastUpdate = now;
    }
    if (this.entries.size > 4096) for (const [k, v] of this.entries) if (this.expired(now, v.lastUpdate)) this.entries.delete(k);
  }
}

/** The DaemonSet's template generation annotation, when it parses. */
function templateGenerationOf(ds: KubeObject): number | undefined {
  const v = ds.metadata?.annotations?.[DAEMONSET_TEMPLATE_GENERATION];
  return typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : undefined;
}

function isTerminatingNamespaceError(err: unknown): boolean {
  return err instanceof ApiError && err.code === 403 && Boolean(err.details?.causes?.some((c) => c.reason === 'NamespaceTerminating'));
}

/** Node changes that can move a DaemonSet's pods: labels (selectors, affinity) and taints. */
function placementInputsChanged(oldNode: KubeObject, cur: KubeObject): boolean {
  return JSON.stringify(oldNode.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {}) || JSON.stringify(oldNode.spec?.taints ?? []) !== JSON.stringify(cur.spec?.taints ?? []);
}

export class DaemonSetController extends InformerController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly podControl: PodControl;
  private readonly expectations: Expectations;
  private readonly daemonSets: Informer;
  private readonly revisions: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly burstReplicas: number;
  private readonly failedPodsBackoff: Backoff;
  private readonly selectors = new WeakMap<KubeObject, LabelPredicate | null>();

  constructor(
    private readonly ctx: ControllerContext,
    opts: DaemonSetControllerOptions = {},
  ) {
    super('daemonset controller', { log: ctx.log, ...opts });
    this.client = ctx.client;
    this.recorder = ctx.recorder(COMPONENT);
    this.podControl = new PodControl(ctx.client, this.recorder);
    this.expectations = new Expectations(ctx.now);
    this.burstReplicas = opts.burstReplicas ?? BURST_REPLICAS;
    this.failedPodsBackoff = new Backoff(opts.failedPodBackoff?.initialMs ?? FAILED_POD_BACKOFF_INITIAL_MS, opts.failedPodBackoff?.maxMs ?? FAILED_POD_BACKOFF_MAX_MS);

    this.daemonSets = ctx.informers.informer(DAEMON_SETS);
    this.revisions = ctx.informers.informer(CONTROLLER_REVISIONS);
    this.pods = ctx.informers.informer(PODS);
    this.nodes = ctx.informers.informer(NODES);
    indexByController(this.pods);
    indexByController(this.revisions);
    this.share(this.daemonSets, this.revisions, this.pods, this.nodes);

    this.daemonSets
      .onAdd((ds) => this.enqueue(ds))
      .onUpdate((old, cur) => {
        if (old.metadata?.uid !== cur.metadata?.uid) this.expectations.delete(keyOf(old));
        this.enqueue(cur);
      })
      .onDelete((ds) => {
        this.expectations.delete(keyOf(ds));
        this.enqueue(ds);
      });

    this.revisions
      .onAdd((rev) => this.ownedObjectChanged(rev, undefined))
      .onUpdate((old, cur) => this.ownedObjectChanged(cur, old))
      .onDelete((rev) => {
        const ds = this.resolveControllerRef(rev);
        if (ds) this.enqueue(ds);
      });

    this.pods
      .onAdd((pod) => {
        if (pod.metadata?.deletionTimestamp) return this.podDeleted(pod);
        const ds = this.resolveControllerRef(pod);
        if (ds) {
          this.expectations.creationObserved(keyOf(ds));
          this.enqueue(ds);
        } else if (!controllerRefOf(pod)) {
          for (const d of this.daemonSetsSelecting(pod)) this.enqueue(d);
        }
      })
      .onUpdate((old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        if (cur.metadata?.deletionTimestamp) return this.podDeleted(cur);
        this.ownedObjectChanged(cur, old);
        const ds = this.resolveControllerRef(cur);
        const minReadySeconds = Number(ds?.spec?.minReadySeconds ?? 0);
        // A pod that just turned ready becomes available minReadySeconds later: look again then.
        if (ds && minReadySeconds > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(keyOf(ds), minReadySeconds * 1000 + 1000);
      })
      .onDelete((pod) => this.podDeleted(pod));

    this.nodes
      .onAdd((node) => {
        for (const ds of this.daemonSets.list()) if (placementOn(node, ds).shouldRun) this.enqueue(ds);
      })
      .onUpdate((old, cur) => {
        if (!placementInputsChanged(old, cur)) return;
        for (const ds of this.daemonSets.list()) {
          const a = placementOn(old, ds);
          const b = placementOn(cur, ds);
          if (a.shouldRun !== b.shouldRun || a.shouldContinueRunning !== b.shouldContinueRunning) this.enqueue(ds);
        }
      })
      // Upstream waits for the pod GC to react to a node's deletion; looking at once keeps status true.
      .onDelete((node) => {
        for (const ds of this.daemonSets.list()) if (placementOn(node, ds).shouldContinueRunning) this.enqueue(ds);
      });
  }

  // ---- event plumbing ----

  private enqueue(ds: KubeObject): void {
    this.queue.add(keyOf(ds));
  }

  private selectorOf(ds: KubeObject): LabelPredicate | null {
    let sel = this.selectors.get(ds);
    if (sel === undefined) {
      try {
        sel = labelSelectorFromObject(ds.spec?.selector);
      } catch {
        sel = null;
      }
      this.selectors.set(ds, sel);
    }
    return sel;
  }

  private resolveControllerRef(obj: KubeObject): KubeObject | undefined {
    const ref = controllerRefOf(obj);
    if (!ref || ref.kind !== KIND) return undefined;
    const ds = this.daemonSets.get(`${obj.metadata?.namespace}/${ref.name}`);
    return ds && ds.metadata?.uid === ref.uid ? ds : undefined;
  }

  /** DaemonSets of the object's namespace whose selector takes it: who might adopt an orphan. */
  private daemonSetsSelecting(obj: KubeObject): KubeObject[] {
    const labels = obj.metadata?.labels;
    return this.daemonSets.listByNamespace(obj.metadata?.namespace ?? '').filter((ds) => {
      const sel = this.selectorOf(ds);
      return sel !== null && !sel.empty && sel.matches(labels);
    });
  }

  /** A pod or revision appeared or changed: its controller looks again; an orphan's candidates too. */
  private ownedObjectChanged(cur: KubeObject, old: KubeObject | undefined): void {
    if (old && old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    if (!old && cur.metadata?.deletionTimestamp) {
      const ds = this.resolveControllerRef(cur);
      if (ds) this.enqueue(ds);
      return;
    }
    const curRef = controllerRefOf(cur);
    const oldRef = old ? controllerRefOf(old) : undefined;
    const refChanged = old !== undefined && JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const prev = this.resolveControllerRef(old!);
      if (prev) this.enqueue(prev);
    }
    if (curRef) {
      const ds = this.resolveControllerRef(cur);
      if (ds) this.enqueue(ds);
      return;
    }
    const labelsChanged = !old || JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const ds of this.daemonSetsSelecting(cur)) this.enqueue(ds);
  }

  private podDeleted(pod: KubeObject): void {
    const ds = this.resolveControllerRef(pod);
    if (!ds) return;
    this.expectations.deletionObserved(keyOf(ds));
    this.enqueue(ds);
  }

  // ---- the sync ----

  /** Brings DaemonSet `key` (namespace/name) in line with the nodes. Throws what should be retried. */
  override async reconcile(key: string): Promise<void> {
    const ds = this.daemonSets.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    const nodes = this.nodes.list();
    const selector = this.selectorOf(ds);
    if (selector === null) return; // invalid: retrying cannot help
    if (selector.empty) {
      this.recorder.event(ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    // Being deleted: its pods and revisions may already be going, so status would lie.
    if (ds.metadata?.deletionTimestamp) return;

    const { cur, old } = await this.constructHistory(ds, selector);
    const hash = cur.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';

    if (!this.expectations.satisfied(key)) {
      // Only status: the generation was not acted on, so observedGeneration stays.
      await this.updateStatus(ds, nodes, hash, selector, false);
      return;
    }
    let failure: unknown;
    try {
      await this.manage(ds, nodes, hash, selector);
      if (this.expectations.satisfied(key) && ds.spec?.updateStrategy?.type === 'RollingUpdate') await this.rollingUpdate(ds, nodes, hash, selector);
      await this.cleanupHistory(ds, old, selector);
    } catch (err) {
      failure = err;
    }
    try {
      await this.updateStatus(ds, nodes, hash, selector, true);
    } catch (err) {
      failure ??= err;
    }
    if (failure !== undefined) throw failure;
  }

  /** The pods `ds` controls (adopting and releasing as upstream's ClaimPods). */
  private daemonPods(ds: KubeObject, selector: LabelPredicate): Promise<KubeObject[]> {
    return claimObjects(claimCandidates(this.pods, ds), {
      client: this.client,
      ref: PODS,
      owner: ds,
      apiVersion: API_VERSION,
      kind: KIND,
      selector,
      canAdopt: recheckOwner(this.client, DAEMON_SETS, ds),
    });
  }

  /** Daemon pods by target node; terminal pods already being deleted are left out unless asked for. */
  private async nodesToDaemonPods(ds: KubeObject, selector: LabelPredicate, includeDeletedTerminal: boolean): Promise<NodeToDaemonPods> {
    const out: NodeToDaemonPods = new Map();
    for (const pod of await this.daemonPods(ds, selector)) {
      if (!includeDeletedTerminal && isPodTerminal(pod) && pod.metadata?.deletionTimestamp) continue;
      const node = targetNodeName(pod);
      if (node === undefined) continue;
      let list = out.get(node);
      if (!list) out.set(node, (list = []));
      list.push(pod);
    }
    return out;
  }

  private async manage(ds: KubeObject, nodes: KubeObject[], hash: string, selector: LabelPredicate): Promise<void> {
    const nodeToPods = await this.nodesToDaemonPods(ds, selector, false);
    const nodesNeedingPods: string[] = [];
    const podsToDelete: KubeObject[] = [];
    for (const node of nodes) this.podsShouldBeOnNode(node, nodeToPods, ds, hash, nodesNeedingPods, podsToDelete);
    // Unscheduled pods pinned to nodes that are gone would wait forever: the pod GC only takes bound ones.
    const live = new Set(nodes.map((n) => n.metadata?.name));
    for (const [node, pods] of nodeToPods) {
      if (live.has(node)) continue;
      for (const pod of pods) if (!pod.spec?.nodeName) podsToDelete.push(pod);
    }
    await this.syncNodes(ds, podsToDelete, nodesNeedingPods, hash);
  }

  /** Upstream's podsShouldBeOnNode: what to create on, and delete from, one node. */
  private podsShouldBeOnNode(node: KubeObject, nodeToPods: NodeToDaemonPods, ds: KubeObject, hash: string, create: string[], remove: KubeObject[]): void {
    const nodeName = node.metadata!.name!;
    const { shouldRun, shouldContinueRunning } = placementOn(node, ds);
    const daemonPods = nodeToPods.get(nodeName);
    if (shouldRun && !daemonPods) {
      create.push(nodeName);
      return;
    }
    if (!shouldContinueRunning) {
      for (const pod of daemonPods ?? []) if (!pod.metadata?.deletionTimestamp) remove.push(pod);
      return;
    }
    const running: KubeObject[] = [];
    const now = this.ctx.now();
    for (const pod of daemonPods ?? []) {
      if (pod.metadata?.deletionTimestamp) continue;
      const where = `${pod.metadata?.namespace}/${pod.metadata?.name} on node ${nodeName}`;
      if (pod.status?.phase === 'Failed') {
        // The kubelet may keep rejecting the pod: back off instead of hot-looping on it.
        const backoffKey = `${ds.metadata?.uid}/${ds.status?.observedGeneration ?? 0}/${nodeName}`;
        if (this.failedPodsBackoff.inBackoffSinceUpdate(backoffKey, now)) {
          this.queue.addAfter(keyOf(ds), this.failedPodsBackoff.delay(backoffKey));
          continue;
        }
        this.failedPodsBackoff.next(backoffKey, now);
        this.recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${where}, will try to kill it`);
        remove.push(pod);
      } else if (pod.status?.phase === 'Succeeded') {
        this.recorder.event(ds, 'Normal', 'SucceededDaemonPod', `Found succeeded daemon pod ${where}, will try to delete it`);
        remove.push(pod);
      } else {
        running.push(pod);
      }
    }
    running.sort(compareDaemonPods);
    if (!allowsSurge(ds)) {
      // One pod per node: the oldest stays.
      remove.push(...running.slice(1));
      return;
    }
    if (running.length <= 1) {
      if (running.length === 0 && shouldRun) create.push(nodeName);
      return;
    }
    // Surging: keep the oldest new and oldest old pod; the old one goes once it is unready or the new one is available.
    let oldestNew: KubeObject | undefined;
    let oldestOld: KubeObject | undefined;
    for (const pod of running) {
      if (pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) {
        if (!oldestNew) {
          oldestNew = pod;
          continue;
        }
      } else if (!oldestOld) {
        oldestOld = pod;
        continue;
      }
      remove.push(pod);
    }
    if (oldestNew && oldestOld) {
      if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, Number(ds.spec?.minReadySeconds ?? 0), now)) remove.push(oldestOld);
    }
  }

  /** Creates pods for `nodesNeedingPods` and deletes `podsToDelete`, within the burst, counting expectations. */
  private async syncNodes(ds: KubeObject, podsToDelete: KubeObject[], nodesNeedingPods: string[], hash: string): Promise<void> {
    const key = keyOf(ds);
    const createDiff = Math.min(nodesNeedingPods.length, this.burstReplicas);
    const deleteDiff = Math.min(podsToDelete.length, this.burstReplicas);
    this.expectations.expect(key, createDiff, deleteDiff);
    const errors: unknown[] = [];

    const template = this.podTemplate(ds, hash);
    const controllerRef = newControllerRef(ds, API_VERSION, KIND);
    // Slow start: batches of 1, 2, 4, … so a quota or admission failure costs one request, not hundreds.
    let pos = 0;
    for (let batch = Math.min(createDiff, 1); pos < createDiff; batch = Math.min(2 * batch, createDiff - pos)) {
      const results = await Promise.allSettled(
        nodesNeedingPods.slice(pos, pos + batch).map((node) => {
          const spec = { ...template.spec, affinity: pinToNode(template.spec.affinity, node) };
          return this.podControl.create(ds, { metadata: template.metadata, spec }, controllerRef);
        }),
      );
      pos += batch;
      let failed = false;
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        this.expectations.creationObserved(key);
        if (isTerminatingNamespaceError(r.reason)) continue;
        errors.push(r.reason);
        failed = true;
      }
      if (failed) {
        for (let skipped = createDiff - pos; skipped > 0; skipped--) this.expectations.creationObserved(key);
        break;
      }
    }

    const deletions = await Promise.allSettled(podsToDelete.slice(0, deleteDiff).map((pod) => this.podControl.delete(ds, pod)));
    for (const r of deletions) {
      if (r.status === 'fulfilled' && r.value) continue;
      // Already gone, or not deleted: no deletion event of ours is coming.
      this.expectations.deletionObserved(key);
      if (r.status === 'rejected') errors.push(r.reason);
    }
    if (errors.length > 0) throw errors[0];
  }

  /** The template daemon pods are made from: revision labels and the daemon tolerations (upstream's CreatePodTemplate). */
  private podTemplate(ds: KubeObject, hash: string): { metadata: Record<string, any>; spec: Record<string, any> } {
    const tmpl = ds.spec?.template ?? {};
    const labels: Record<string, string> = { ...tmpl.metadata?.labels };
    const generation = templateGenerationOf(ds);
    if (generation !== undefined) labels[POD_TEMPLATE_GENERATION_LABEL] = String(generation);
    if (hash) labels[CONTROLLER_REVISION_HASH_LABEL] = hash;
    return { metadata: { ...tmpl.metadata, labels }, spec: withDaemonTolerations(tmpl.spec ?? {}) };
  }

  private async rollingUpdate(ds: KubeObject, nodes: KubeObject[], hash: string, selector: LabelPredicate): Promise<void> {
    const nodeToPods = await this.nodesToDaemonPods(ds, selector, false);
    let desired = 0;
    for (const node of nodes) {
      if (!placementOn(node, ds).shouldRun) continue;
      desired++;
      if (!nodeToPods.has(node.metadata!.name!)) nodeToPods.set(node.metadata!.name!, []);
    }
    let maxUnavailable = unavailableCount(ds, desired);
    const maxSurge = surgeCount(ds, desired);
    if (maxUnavailable === undefined) throw new Error(`invalid value for MaxUnavailable of DaemonSet ${keyOf(ds)}`);
    if (maxSurge === undefined) throw new Error(`invalid value for MaxSurge of DaemonSet ${keyOf(ds)}`);
    // An impossible configuration (both 0) behaves as the default, one unavailable pod at a time.
    if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
    const step = rollingUpdateStep({
      nodeToDaemonPods: nodeToPods,
      hash,
      templateGeneration: templateGenerationOf(ds),
      minReadySeconds: Number(ds.spec?.minReadySeconds ?? 0),
      nowMs: this.ctx.now(),
      maxSurge,
      maxUnavailable,
      desiredNumberScheduled: desired,
      shouldRun: (name) => {
        const node = this.nodes.get(name);
        return node !== undefined && placementOn(node, ds).shouldRun;
      },
    });
    await this.syncNodes(ds, step.podsToDelete, step.nodesNeedingPods, hash);
  }

  // ---- revision history ----

  /** The revision matching the current template (created or renumbered if need be) and the older ones. */
  private async constructHistory(ds: KubeObject, selector: LabelPredicate): Promise<{ cur: KubeObject; old: KubeObject[] }> {
    const histories = await claimObjects(claimCandidates(this.revisions, ds), {
      client: this.client,
      ref: CONTROLLER_REVISIONS,
      owner: ds,
      apiVersion: API_VERSION,
      kind: KIND,
      selector,
      canAdopt: recheckOwner(this.client, DAEMON_SETS, ds),
    });
    const patch = templatePatchBytes(ds);
    const current: KubeObject[] = [];
    const old: KubeObject[] = [];
    for (let history of histories) {
      if (history.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === undefined) {
        // The name stands in for the hash, so a collision can never mislabel it.
        history = await this.client.patch(CONTROLLER_REVISIONS, history.metadata!.namespace!, history.metadata!.name!, 'application/merge-patch+json', {
          metadata: { labels: { [CONTROLLER_REVISION_HASH_LABEL]: history.metadata!.name } },
        });
      }
      (revisionDataBytes(history) === patch ? current : old).push(history);
    }
    const currRevision = maxRevision(old) + 1;
    if (current.length === 0) return { cur: await this.snapshot(ds, currRevision), old };
    let cur = await this.dedupCurrentHistories(ds, selector, current);
    if (revisionNumber(cur) < currRevision) cur = await setRevisionNumber(this.client, cur, currRevision);
    return { cur, old };
  }

  /** Keeps the newest of several revisions of the current template; pods are relabelled to it first. */
  private async dedupCurrentHistories(ds: KubeObject, selector: LabelPredicate, current: KubeObject[]): Promise<KubeObject> {
    if (current.length === 1) return current[0];
    let keep = current[0];
    for (const h of current) if (revisionNumber(h) >= revisionNumber(keep)) keep = h;
    const keepHash = keep.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
    for (const pod of await this.daemonPods(ds, selector)) {
      if (pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === keepHash) continue;
      await this.client.patch(PODS, pod.metadata!.namespace!, pod.metadata!.name!, 'application/merge-patch+json', { metadata: { labels: { [CONTROLLER_REVISION_HASH_LABEL]: keepHash } } });
    }
    for (const h of current) if (h !== keep) await deleteRevision(this.client, h);
    return keep;
  }

  /** Records the current template as revision `revision` (upstream's snapshot), resolving name collisions. */
  private async snapshot(ds: KubeObject, revision: number): Promise<KubeObject> {
    const { namespace, name: dsName } = splitKey(keyOf(ds));
    const collisionCount = typeof ds.status?.collisionCount === 'number' ? ds.status.collisionCount : undefined;
    const hash = hashTemplate(ds.spec?.template ?? {}, collisionCount);
    const name = `${dsName}-${hash}`;
    const metadata: KubeObject['metadata'] = {
      name,
      namespace,
      labels: { ...ds.spec?.template?.metadata?.labels, [CONTROLLER_REVISION_HASH_LABEL]: hash },
      ownerReferences: [newControllerRef(ds, API_VERSION, KIND)],
    };
    if (ds.metadata?.annotations) metadata.annotations = { ...ds.metadata.annotations };
    try {
      return await this.client.create(CONTROLLER_REVISIONS, namespace, { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata, data: templatePatchOf(ds), revision });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409 && err.reason === 'AlreadyExists')) throw err;
      const existing = await this.client.get(CONTROLLER_REVISIONS, namespace, name);
      if (revisionDataBytes(existing) === templatePatchBytes(ds)) return existing;
      // Another template hashed to this name: count the collision so the next hash differs.
      const fresh = await this.client.get(DAEMON_SETS, namespace, dsName);
      if (fresh.status?.collisionCount !== ds.status?.collisionCount) {
        throw new Error(`found a stale collision count (${ds.status?.collisionCount}, expected ${fresh.status?.collisionCount}) of DaemonSet "${dsName}" while processing; will retry until it is updated`);
      }
      await this.client.update(DAEMON_SETS, namespace, { ...fresh, status: { ...fresh.status, collisionCount: (collisionCount ?? 0) + 1 } }, { subresource: 'status' });
      throw err;
    }
  }

  /** Deletes the oldest revisions beyond revisionHistoryLimit that no pod still runs. */
  private async cleanupHistory(ds: KubeObject, old: KubeObject[], selector: LabelPredicate): Promise<void> {
    const limit = Number(ds.spec?.revisionHistoryLimit ?? 10);
    let toKill = old.length - limit;
    if (toKill <= 0) return;
    const liveHashes = new Set<string>();
    for (const pods of (await this.nodesToDaemonPods(ds, selector, true)).values()) {
      for (const pod of pods) {
        const h = pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL];
        if (h) liveHashes.add(h);
      }
    }
    for (const history of sortRevisions([...old])) {
      if (toKill <= 0) break;
      if (liveHashes.has(history.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '')) continue;
      await deleteRevision(this.client, history);
      toKill--;
    }
  }

  // ---- status ----

  private async updateStatus(ds: KubeObject, nodes: KubeObject[], hash: string, selector: LabelPredicate, updateObservedGeneration: boolean): Promise<void> {
    const nodeToPods = await this.nodesToDaemonPods(ds, selector, false);
    const minReadySeconds = Number(ds.spec?.minReadySeconds ?? 0);
    const now = this.ctx.now();
    const generation = templateGenerationOf(ds);
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let updated = 0;
    let available = 0;
    for (const node of nodes) {
      const { shouldRun } = placementOn(node, ds);
      const pods = nodeToPods.get(node.metadata!.name!) ?? [];
      if (!shouldRun) {
        if (pods.length > 0) misscheduled++;
        continue;
      }
      desired++;
      if (pods.length === 0) continue;
      current++;
      const pod = [...pods].sort(compareDaemonPods)[0];
      const r = readyAndAvailable(pod, minReadySeconds, now);
      if (r.ready) ready++;
      if (r.available) available++;
      if (isPodUpdated(pod, hash, generation)) updated++;
    }
    const unavailable = desired - available;
    const s = ds.status ?? {};
    const dsGeneration = Number(ds.metadata?.generation ?? 0);
    const same =
      (s.desiredNumberScheduled ?? 0) === desired &&
      (s.currentNumberScheduled ?? 0) === current &&
      (s.numberMisscheduled ?? 0) === misscheduled &&
      (s.numberReady ?? 0) === ready &&
      (s.updatedNumberScheduled ?? 0) === updated &&
      (s.numberAvailable ?? 0) === available &&
      (s.numberUnavailable ?? 0) === unavailable &&
      (s.observedGeneration ?? 0) >= dsGeneration;
    if (!same) {
      const status: Record<string, unknown> = { ...s, currentNumberScheduled: current, numberMisscheduled: misscheduled, desiredNumberScheduled: desired, numberReady: ready };
      if (updateObservedGeneration) status.observedGeneration = dsGeneration;
      // Fields Go omits when zero stay out, so the object reads as upstream's.
      for (const [k, v] of [
        ['updatedNumberScheduled', updated],
        ['numberAvailable', available],
        ['numberUnavailable', unavailable],
      ] as const) {
        if (v === 0) delete status[k];
        else status[k] = v;
      }
      if (status.observedGeneration === 0) delete status.observedGeneration;
      await this.client.update(DAEMON_SETS, ds.metadata!.namespace!, { ...ds, status }, { subresource: 'status' });
    }
    // Availability comes with time alone; no event will say so.
    if (minReadySeconds > 0 && ready !== available) this.queue.addAfter(keyOf(ds), minReadySeconds * 1000);
  }
}

/**
 * The taint eviction controller, after upstream's NoExecuteTaintManager (kube-controller-manager
 * 1.30's taint-eviction-controller): a pod on a node with a NoExecute taint it does not tolerate is
 * deleted at once; one that tolerates it for `tolerationSeconds` is deleted that long after the taint
 * came, and one that tolerates it without limit stays. Before the deletion the pod gets a
 * DisruptionTarget condition (DeletionByTaintManager) and a TaintManagerEviction event
 * ("Marking for deletion Pod ns/name"); a scheduled deletion that is no longer due (the taint went,
 * the pod left) is cancelled with "Cancelling deletion of Pod ns/name".
 *
 * Upstream counts tolerationSeconds from when it noticed the taint, in memory. Here the clock starts
 * at the taint's `timeAdded` (when it has one; else when this controller first saw it), or when the
 * pod was bound if that came later, so the deadline survives a restart of the controller.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../client/events.js';
import type { ControllerContext } from './context.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { NODES, PODS, keyOf, parseTime, podCondition, rfc3339, splitKey } from './pods.js';
import { NODE_NAME_INDEX, byNodeName, ensureIndexer } from './service-pods.js';
import { taintsOf } from './node-lifecycle.js';
import { toleratesTaint, type Taint, type Toleration } from '../api/taints.js';

const POD_KEY_PREFIX = 'pod:';

export type { Toleration };

export type TaintEvictionControllerOptions = ControllerOptions;

function noExecuteTaints(node: KubeObject | undefined): Taint[] {
  return node ? taintsOf(node).filter((t) => t.effect === 'NoExecute') : [];
}

function sameTaints(a: Taint[], b: Taint[]): boolean {
  return a.length === b.length && a.every((t, i) => t.key === b[i].key && (t.value ?? '') === (b[i].value ?? '') && t.effect === b[i].effect && (t.timeAdded ?? '') === (b[i].timeAdded ?? ''));
}

export class TaintEvictionController extends InformerController {
  private readonly nodes: Informer;
  private readonly pods: Informer;
  private readonly recorder: EventRecorder;
  /** Evictions waiting for their time, by pod key. */
  private readonly scheduled = new Map<string, number>();
  /** When taints without timeAdded were first seen, by node and taint. */
  private readonly firstSeen = new Map<string, Map<string, number>>();
  /** Pods (by uid) already told they are being deleted, so a retried deletion tells it once. */
  private readonly marked = new Set<string>();

  constructor(
    private readonly ctx: ControllerContext,
    opts: TaintEvictionControllerOptions = {},
  ) {
    super('taint eviction controller', { workers: 4, log: ctx.log, ...opts });
    this.recorder = ctx.recorder('taint-eviction-controller');
    this.nodes = ctx.informers.informer(NODES);
    this.pods = ctx.informers.informer(PODS);
    ensureIndexer(this.pods, NODE_NAME_INDEX, byNodeName);
    this.share(this.nodes, this.pods);

    this.nodes
      .onAdd((n) => this.queue.add(n.metadata!.name!))
      .onUpdate((old, n) => {
        if (!sameTaints(noExecuteTaints(old), noExecuteTaints(n))) this.queue.add(n.metadata!.name!);
      })
      .onDelete((n) => this.queue.add(n.metadata!.name!));
    const enqueuePod = (p: KubeObject) => this.queue.add(POD_KEY_PREFIX + keyOf(p));
    this.pods
      .onAdd(enqueuePod)
      .onUpdate((old, p) => {
        if (old.spec?.nodeName !== p.spec?.nodeName || JSON.stringify(old.spec?.tolerations ?? []) !== JSON.stringify(p.spec?.tolerations ?? [])) enqueuePod(p);
      })
      .onDelete(enqueuePod);
  }

  override async reconcile(key: string): Promise<void> {
    if (key.startsWith(POD_KEY_PREFIX)) {
      const podKey = key.slice(POD_KEY_PREFIX.length);
      const pod = this.pods.get(podKey);
      if (!pod) {
        this.cancel(podKey);
        return;
      }
      await this.processPod(pod);
      return;
    }
    const node = this.nodes.get(key);
    this.noteTaints(key, node);
    const failures: unknown[] = [];
    for (const pod of this.pods.byIndex(NODE_NAME_INDEX, key)) {
      try {
        await this.processPod(pod);
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  /** Remembers when timeAdded-less taints of the node were first seen, forgetting those gone. */
  private noteTaints(nodeName: string, node: KubeObject | undefined): void {
    const taints = noExecuteTaints(node);
    if (taints.length === 0) {
      this.firstSeen.delete(nodeName);
      return;
    }
    const old = this.firstSeen.get(nodeName);
    const next = new Map<string, number>();
    const now = this.ctx.now();
    for (const t of taints) {
      const k = `${t.key}\u0000${t.value ?? ''}`;
      next.set(k, old?.get(k) ?? now);
    }
    this.firstSeen.set(nodeName, next);
  }

  private taintStart(nodeName: string, t: Taint): number {
    const added = parseTime(t.timeAdded);
    if (added !== undefined) return added;
    const k = `${t.key}\u0000${t.value ?? ''}`;
    let seen = this.firstSeen.get(nodeName);
    if (!seen) this.firstSeen.set(nodeName, (seen = new Map()));
    let at = seen.get(k);
    if (at === undefined) seen.set(k, (at = this.ctx.now()));
    return at;
  }

  /** When the pod must go: now, later, or never (Infinity), from the node's NoExecute taints. */
  private deadline(pod: KubeObject, nodeName: string, taints: Taint[], now: number): number {
    const tolerations = (pod.spec?.tolerations ?? []) as Toleration[];
    const boundAt = parseTime(podCondition(pod, 'PodScheduled')?.lastTransitionTime) ?? 0;
    let due = Infinity;
    for (const taint of taints) {
      const used = tolerations.find((t) => t && toleratesTaint(t, taint));
      if (!used) return now;
      const secs = used.tolerationSeconds;
      if (typeof secs !== 'number') continue;
      if (secs <= 0) return now;
      due = Math.min(due, Math.max(this.taintStart(nodeName, taint), boundAt) + secs * 1000);
    }
    return due;
  }

  private async processPod(pod: KubeObject): Promise<void> {
    const podKey = keyOf(pod);
    // A pod already on its way out needs nothing more from us.
    if (pod.metadata?.deletionTimestamp) {
      this.scheduled.delete(podKey);
      return;
    }
    const nodeName = pod.spec?.nodeName as string | undefined;
    const now = this.ctx.now();
    let due: number;
    const node = nodeName ? this.nodes.get(nodeName) : undefined;
    if (!nodeName) {
      due = Infinity;
    } else if (!node) {
      // The node is gone: what was scheduled still happens (the pod GC will see to the rest).
      due = this.scheduled.get(podKey) ?? Infinity;
    } else {
      due = this.deadline(pod, nodeName, noExecuteTaints(node), now);
    }
    if (due === Infinity) {
      this.cancel(podKey);
      return;
    }
    if (due > now) {
      this.scheduled.set(podKey, due);
      this.queue.addAfter(POD_KEY_PREFIX + podKey, due - now);
      return;
    }
    await this.evict(pod);
    this.scheduled.delete(podKey);
  }

  private cancel(podKey: string): void {
    if (!this.scheduled.delete(podKey)) return;
    const { namespace, name } = splitKey(podKey);
    this.recorder.event({ apiVersion: 'v1', kind: 'Pod', namespace, name }, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${podKey}`);
  }

  /** Upstream's addConditionAndDeletePod, after its TaintManagerEviction event. */
  private async evict(pod: KubeObject): Promise<void> {
    const { namespace, name } = splitKey(keyOf(pod));
    const uid = pod.metadata?.uid ?? '';
    if (!this.marked.has(uid)) {
      this.marked.add(uid);
      this.recorder.event({ apiVersion: 'v1', kind: 'Pod', namespace, name }, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${namespace}/${name}`);
    }
    try {
      const target = podCondition(pod, 'DisruptionTarget');
      if (target?.status !== 'True' || target.reason !== 'DeletionByTaintManager') {
        const next = structuredClone(pod);
        const conditions = ((next.status ??= {}).conditions ??= []) as Record<string, unknown>[];
        const condition = { type: 'DisruptionTarget', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(this.ctx.now()), reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' };
        const i = conditions.findIndex((c) => c?.type === 'DisruptionTarget');
        if (i >= 0) {
          if (conditions[i].status === 'True') condition.lastTransitionTime = conditions[i].lastTransitionTime as string;
          conditions[i] = condition;
        } else {
          conditions.push(condition);
        }
        await this.ctx.client.update(PODS, namespace, next, { subresource: 'status' });
      }
      await this.ctx.client.delete(PODS, namespace, name, { preconditions: { uid } });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    } finally {
      if (this.marked.size > 10_000) this.marked.clear();
    }
  }
}

export { toleratesTaint };

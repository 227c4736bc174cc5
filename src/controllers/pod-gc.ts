/**
 * The pod garbage collector, after upstream's podgc controller (kube-controller-manager 1.30),
 * every `periodMs`:
 * - terminated pods (Succeeded or Failed) beyond `terminatedPodThreshold` are deleted, evicted ones
 *   first, then the oldest;
 * - terminating pods on a node that is not ready and carries the `node.kubernetes.io/out-of-service`
 *   taint are force-deleted;
 * - pods bound to a node that does not exist are force-deleted once the node has been missing for
 *   `quarantineMs` and a GET confirms it is gone, after being marked Failed with a DisruptionTarget
 *   condition (DeletionByPodGC, "PodGC: node no longer exists");
 * - terminating pods that were never scheduled are force-deleted.
 * Force deletion is a delete with gracePeriodSeconds 0, after the pod is moved to the Failed phase
 * (no kubelet will ever do it for these pods).
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import type { ControllerContext } from './context.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { NODES, PODS, keyOf, rfc3339, splitKey, type PodCondition } from './pods.js';
import { isNodeReady, taintsOf } from './node-lifecycle.js';

const GC_KEY = 'gc';
const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';
const PARALLEL_DELETES = 32;

export interface PodGcControllerOptions extends ControllerOptions {
  /** Terminated pods kept before the oldest are deleted (default 12,500; 0 or less keeps all). */
  terminatedPodThreshold?: number;
  /** How often pods are looked at (default 20 s). */
  periodMs?: number;
  /** How long a node must be missing before its pods count as orphans (default 40 s). */
  quarantineMs?: number;
}

/** Upstream's isPodTerminated: any phase but Pending, Running and Unknown (a pod without phase is taken as Pending). */
function isTerminated(pod: KubeObject): boolean {
  const phase = pod.status?.phase ?? 'Pending';
  return phase !== 'Pending' && phase !== 'Running' && phase !== 'Unknown';
}

function isEvicted(pod: KubeObject): boolean {
  return pod.status?.phase === 'Failed' && pod.status?.reason === 'Evicted';
}

/** Evicted pods first, then by creation, then by name (upstream's byEvictionAndCreationTimestamp). */
function byEvictionAndCreation(a: KubeObject, b: KubeObject): number {
  const ea = isEvicted(a);
  if (ea !== isEvicted(b)) return ea ? -1 : 1;
  const ca = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
  if (ca !== cb) return ca - cb;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

export class PodGcController extends InformerController {
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly threshold: number;
  private readonly period: number;
  private readonly quarantine: number;
  /** Nodes that pods are bound to but the informer does not know, and since when. */
  private readonly missingSince = new Map<string, number>();

  constructor(
    private readonly ctx: ControllerContext,
    opts: PodGcControllerOptions = {},
  ) {
    super('pod garbage collector', { log: ctx.log, ...opts });
    this.threshold = opts.terminatedPodThreshold ?? 12_500;
    this.period = opts.periodMs ?? 20_000;
    this.quarantine = opts.quarantineMs ?? 40_000;
    this.pods = ctx.informers.informer(PODS);
    this.nodes = ctx.informers.informer(NODES);
    this.share(this.pods, this.nodes);
  }

  override async start(): Promise<void> {
    await super.start();
    this.queue.add(GC_KEY);
  }

  override async reconcile(key: string): Promise<void> {
    if (key !== GC_KEY) return;
    const failures: string[] = [];
    try {
      await this.gc(failures);
    } finally {
      this.queue.addAfter(GC_KEY, this.nextPass());
    }
    if (failures.length > 0) this.ctx.log?.(`pod garbage collector: ${failures.join('; ')}`);
  }

  /** The next pass comes after the period, or sooner when a quarantine ends. */
  private nextPass(): number {
    let delay = this.period;
    const now = this.ctx.now();
    for (const since of this.missingSince.values()) delay = Math.min(delay, since + this.quarantine - now + 1);
    return Math.max(delay, 1);
  }

  private async gc(failures: string[]): Promise<void> {
    const pods = this.pods.list();
    if (this.threshold > 0) await this.gcTerminated(pods, failures);
    await this.gcTerminating(pods, failures);
    await this.gcOrphaned(pods, failures);
    await this.gcUnscheduledTerminating(pods, failures);
  }

  private async gcTerminated(pods: KubeObject[], failures: string[]): Promise<void> {
    const terminated = pods.filter(isTerminated);
    const excess = terminated.length - this.threshold;
    if (excess <= 0) return;
    terminated.sort(byEvictionAndCreation);
    await this.forceDeleteAll(terminated.slice(0, excess), undefined, failures);
  }

  private async gcTerminating(pods: KubeObject[], failures: string[]): Promise<void> {
    const doomed = pods.filter((p) => {
      if (!p.metadata?.deletionTimestamp || !p.spec?.nodeName) return false;
      const node = this.nodes.get(p.spec.nodeName);
      return node !== undefined && !isNodeReady(node) && taintsOf(node).some((t) => t.key === TAINT_OUT_OF_SERVICE);
    });
    await this.forceDeleteAll(doomed.sort(byEvictionAndCreation), undefined, failures);
  }

  private async gcOrphaned(pods: KubeObject[], failures: string[]): Promise<void> {
    const now = this.ctx.now();
    const missing = new Set<string>();
    for (const p of pods) {
      const nodeName = p.spec?.nodeName as string | undefined;
      if (!nodeName || this.nodes.get(nodeName)) continue;
      missing.add(nodeName);
      if (!this.missingSince.has(nodeName)) this.missingSince.set(nodeName, now);
    }
    for (const name of [...this.missingSince.keys()]) if (!missing.has(name)) this.missingSince.delete(name);

    const gone = new Set<string>();
    for (const [name, since] of this.missingSince) {
      if (now - since < this.quarantine) continue;
      // The informer may be behind: only the API's 404 makes the node gone.
      try {
        await this.ctx.client.get(NODES, '', name);
        this.missingSince.delete(name);
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) gone.add(name);
        else failures.push(`getting node ${name}: ${(err as Error).message}`);
      }
    }
    if (gone.size === 0) return;
    const orphans = pods.filter((p) => gone.has(p.spec?.nodeName));
    const condition: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' };
    await this.forceDeleteAll(orphans, condition, failures);
  }

  private async gcUnscheduledTerminating(pods: KubeObject[], failures: string[]): Promise<void> {
    const doomed = pods.filter((p) => p.metadata?.deletionTimestamp && !p.spec?.nodeName);
    await this.forceDeleteAll(doomed, undefined, failures);
  }

  private async forceDeleteAll(pods: KubeObject[], condition: PodCondition | undefined, failures: string[]): Promise<void> {
    for (let i = 0; i < pods.length; i += PARALLEL_DELETES) {
      const batch = pods.slice(i, i + PARALLEL_DELETES);
      const results = await Promise.allSettled(batch.map((p) => this.markFailedAndDelete(p, condition)));
      results.forEach((r, j) => {
        if (r.status === 'rejected') failures.push(`${keyOf(batch[j])}: ${(r.reason as Error).message}`);
      });
    }
  }

  /** Upstream's markFailedAndDeletePodWithCondition: Failed first (no kubelet will say so), then a delete with no grace. */
  private async markFailedAndDelete(pod: KubeObject, condition: PodCondition | undefined): Promise<void> {
    const { namespace, name } = splitKey(keyOf(pod));
    try {
      const phase = pod.status?.phase;
      if (phase !== 'Succeeded' && phase !== 'Failed') {
        const next = structuredClone(pod);
        next.status = { ...next.status, phase: 'Failed' };
        if (condition) {
          const conditions = [...((next.status.conditions ?? []) as PodCondition[])];
          const i = conditions.findIndex((c) => c?.type === condition.type);
          const old = i >= 0 ? conditions[i] : undefined;
          const c: PodCondition = { ...condition, lastProbeTime: null, lastTransitionTime: old?.status === condition.status ? old.lastTransitionTime : rfc3339(this.ctx.now()) };
          if (i >= 0) conditions[i] = c;
          else conditions.push(c);
          next.status.conditions = conditions;
        }
        await this.ctx.client.update(PODS, namespace, next, { subresource: 'status' });
      }
      // Deleted with no grace already, and only finalizers hold it: asking again changes nothing.
      if (pod.metadata?.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0) return;
      await this.ctx.client.delete(PODS, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    }
  }
}

/**
 * The node lifecycle controller, after upstream's nodelifecycle controller (kube-controller-manager
 * 1.30, taint-based evictions, the taint eviction itself being TaintEvictionController's job).
 *
 * - Node health, as monitorNodeHealth: every `nodeMonitorPeriodMs` each node's Ready heartbeat
 *   (lastHeartbeatTime) and its Lease in `kube-node-lease` (renewTime) are compared with what was
 *   seen before; a node neither of which was renewed within `nodeMonitorGracePeriodMs` (or
 *   `nodeStartupGracePeriodMs` before it ever posted a Ready condition) gets Ready, MemoryPressure,
 *   DiskPressure and PIDPressure set to Unknown (NodeStatusUnknown, "Kubelet stopped posting node
 *   status."). Times are local observation times, as upstream, so clock skew does not matter.
 * - Taint-based eviction: a node whose Ready is Unknown gets `node.kubernetes.io/unreachable:NoExecute`,
 *   Ready=False gets `node.kubernetes.io/not-ready:NoExecute` (swapped at once when one turns into
 *   the other), both removed once Ready=True. Adding them is rate-limited per zone as upstream:
 *   `evictionLimiterQps` (burst 1) normally, `secondaryEvictionLimiterQps` in a partially disrupted
 *   zone of more than `largeClusterThreshold` nodes (none in a smaller one), and when every zone is
 *   fully disrupted nothing is tainted at all and existing NoExecute taints are lifted (the control
 *   plane is likely the one cut off).
 * - Taint nodes by condition: the matching NoSchedule taints (not-ready, unreachable, memory-,
 *   disk- and pid-pressure, network-unavailable) and `node.kubernetes.io/unschedulable` for cordoned
 *   nodes; the beta os/arch labels follow the stable ones.
 * - A node going not ready has its pods marked Ready=False (MarkPodsNotReady) and a NodeNotReady
 *   event; pods bound later to a not-ready node are marked too.
 *
 * Simplified: the per-zone tainting queue is taken in node order at each monitor pass (upstream
 * drains it every 100 ms in the order nodes went bad), and a newly seen node keeps taints it already
 * has instead of having them lifted and put back.
 */
import type { KubeObject } from '../api/types.js';
import type { Taint } from '../api/taints.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../client/events.js';
import type { ControllerContext } from './context.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { LEASES, NODES, PODS, keyOf, parseTime, rfc3339, type PodCondition } from './pods.js';
import { NODE_NAME_INDEX, byNodeName, ensureIndexer } from './service-pods.js';

export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_NODE_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_NODE_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_NODE_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
export const TAINT_NODE_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

const LABEL_EXCLUDE_DISRUPTION = 'node.kubernetes.io/exclude-disruption';
const MONITOR_KEY = 'monitor:';
const POD_KEY_PREFIX = 'pod:';
const TAINT_WRITE_ATTEMPTS = 5;

export type { Taint };

export interface NodeCondition {
  type: string;
  status: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function nodeCondition(node: KubeObject, type: string): NodeCondition | undefined {
  return (node.status?.conditions as NodeCondition[] | undefined)?.find((c) => c?.type === type);
}

export function isNodeReady(node: KubeObject): boolean {
  return nodeCondition(node, 'Ready')?.status === 'True';
}

export function taintsOf(node: KubeObject): Taint[] {
  return ((node.spec?.taints ?? []) as Taint[]).filter((t) => t && typeof t.key === 'string');
}

export function hasTaint(node: KubeObject, key: string, effect: string): boolean {
  return taintsOf(node).some((t) => t.key === key && t.effect === effect);
}

/** Which condition status yields which taint key (upstream's nodeConditionToTaintKeyStatusMap). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NODE_NOT_READY, Unknown: TAINT_NODE_UNREACHABLE },
  MemoryPressure: { True: TAINT_NODE_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_NODE_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NODE_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_NODE_PID_PRESSURE },
};
const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

/** The beta labels kept equal to the stable ones (upstream's labelReconcileInfo). */
const LABEL_PAIRS: [string, string][] = [
  ['kubernetes.io/os', 'beta.kubernetes.io/os'],
  ['kubernetes.io/arch', 'beta.kubernetes.io/arch'],
];

/** Upstream's topology GetZoneKey: region and zone (stable labels, else the beta ones), "" when neither. */
export function zoneKeyOf(node: KubeObject): string {
  const l = node.metadata?.labels ?? {};
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  return region === '' && zone === '' ? '' : `${region}:\u0000:${zone}`;
}

export interface NodeLifecycleControllerOptions extends ControllerOptions {
  /** How long a node may go without a heartbeat or lease renewal (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** How often node health is looked at (default 5 s). */
  nodeMonitorPeriodMs?: number;
  /** The grace of a node that never posted Ready (default 60 s). */
  nodeStartupGracePeriodMs?: number;
  /** Nodes tainted per second and zone (--node-eviction-rate, default 0.1). */
  evictionLimiterQps?: number;
  /** The same in a partially disrupted large zone (--secondary-node-eviction-rate, default 0.01). */
  secondaryEvictionLimiterQps?: number;
  /** Above this many nodes a zone is large (--large-cluster-size-threshold, default 50). */
  largeClusterThreshold?: number;
  /** The share of not-ready nodes (at least 3) that makes a zone partially disrupted (default 0.55). */
  unhealthyZoneThreshold?: number;
}

interface NodeHealth {
  probeMs: number;
  readyTransitionMs: number;
  /** The Ready condition last seen, or undefined when the node had none. */
  ready: NodeCondition | undefined;
  leaseRenewTime: string | undefined;
}

type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** A token bucket of burst 1, as flowcontrol's; a rate of 0 never lets anything through. */
class ZoneLimiter {
  private tokens = 1;
  private at: number;

  constructor(
    public qps: number,
    now: number,
  ) {
    this.at = now;
  }

  swap(qps: number, now: number): void {
    if (qps === this.qps) return;
    this.qps = qps;
    this.tokens = 1;
    this.at = now;
  }

  tryAccept(now: number): boolean {
    if (this.qps <= 0) return false;
    this.tokens = Math.min(1, this.tokens + ((now - this.at) / 1000) * this.qps);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function sameCondition(a: NodeCondition | undefined, b: NodeCondition | undefined): boolean {
  if (!a || !b) return a === b;
  return a.status === b.status && (a.reason ?? '') === (b.reason ?? '') && (a.message ?? '') === (b.message ?? '') && parseTime(a.lastHeartbeatTime) === parseTime(b.lastHeartbeatTime) && parseTime(a.lastTransitionTime) === parseTime(b.lastTransitionTime);
}

export class NodeLifecycleController extends InformerController {
  private readonly nodes: Informer;
  private readonly pods: Informer;
  private readonly leases: Informer;
  private readonly recorder: EventRecorder;
  private readonly grace: number;
  private readonly period: number;
  private readonly startupGrace: number;
  private readonly evictionQps: number;
  private readonly secondaryQps: number;
  private readonly largeCluster: number;
  private readonly unhealthyThreshold: number;

  private readonly health = new Map<string, NodeHealth>();
  private readonly known = new Map<string, KubeObject>();
  private readonly retry = new Set<string>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly limiters = new Map<string, ZoneLimiter>();
  /** Nodes waiting for their NoExecute taint, per zone, in the order they were found unhealthy. */
  private readonly pending = new Map<string, Set<string>>();

  constructor(
    private readonly ctx: ControllerContext,
    opts: NodeLifecycleControllerOptions = {},
  ) {
    super('node lifecycle controller', { workers: 2, log: ctx.log, ...opts });
    this.grace = opts.nodeMonitorGracePeriodMs ?? 40_000;
    this.period = opts.nodeMonitorPeriodMs ?? 5_000;
    this.startupGrace = opts.nodeStartupGracePeriodMs ?? 60_000;
    this.evictionQps = opts.evictionLimiterQps ?? 0.1;
    this.secondaryQps = opts.secondaryEvictionLimiterQps ?? 0.01;
    this.largeCluster = opts.largeClusterThreshold ?? 50;
    this.unhealthyThreshold = opts.unhealthyZoneThreshold ?? 0.55;
    this.recorder = ctx.recorder('node-controller');
    this.nodes = ctx.informers.informer(NODES);
    this.pods = ctx.informers.informer(PODS);
    this.leases = ctx.informers.informer(LEASES, { namespace: NODE_LEASE_NAMESPACE });
    ensureIndexer(this.pods, NODE_NAME_INDEX, byNodeName);
    this.share(this.nodes, this.pods, this.leases);

    // What the NoSchedule and label pass looks at; heartbeats alone change none of it.
    const signature = (n: KubeObject) =>
      JSON.stringify([
        ((n.status?.conditions ?? []) as NodeCondition[]).map((c) => [c?.type, c?.status]),
        n.spec?.unschedulable === true,
        taintsOf(n).filter((t) => t.effect === 'NoSchedule').map((t) => t.key),
        LABEL_PAIRS.map(([a, b]) => [n.metadata?.labels?.[a], n.metadata?.labels?.[b]]),
      ]);
    this.nodes.onAdd((n) => this.queue.add(n.metadata!.name!)).onUpdate((old, n) => {
      if (signature(old) !== signature(n)) this.queue.add(n.metadata!.name!);
    });
    this.pods
      .onAdd((p) => {
        if (p.spec?.nodeName) this.queue.add(POD_KEY_PREFIX + keyOf(p));
      })
      .onUpdate((old, p) => {
        if (p.spec?.nodeName && p.spec.nodeName !== old.spec?.nodeName) this.queue.add(POD_KEY_PREFIX + keyOf(p));
      });
  }

  override async start(): Promise<void> {
    await super.start();
    this.queue.add(MONITOR_KEY);
  }

  override async reconcile(key: string): Promise<void> {
    if (key === MONITOR_KEY) {
      try {
        await this.monitorNodeHealth();
      } finally {
        this.queue.addAfter(MONITOR_KEY, this.period);
      }
      return;
    }
    if (key.startsWith(POD_KEY_PREFIX)) return this.processPod(key.slice(POD_KEY_PREFIX.length));
    await this.reconcileNodeTaintsAndLabels(key);
  }

  // ---- monitorNodeHealth ----

  private async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodes.list();
    const seen = new Set<string>();
    for (const node of nodes) {
      const name = node.metadata!.name!;
      seen.add(name);
      if (!this.known.has(name)) {
        this.recordNodeEvent(node, 'Normal', 'RegisteredNode', `Registered Node ${name} in Controller`);
        this.known.set(name, node);
      }
      this.zoneOf(zoneKeyOf(node));
    }
    for (const [name, node] of this.known) {
      if (seen.has(name)) continue;
      this.recordNodeEvent(node, 'Normal', 'RemovingNode', `Removing Node ${name} from Controller`);
      this.known.delete(name);
      this.health.delete(name);
      this.retry.delete(name);
      for (const p of this.pending.values()) p.delete(name);
    }

    const zoneConditions = new Map<string, (NodeCondition | undefined)[]>();
    const failures: string[] = [];
    for (const informerNode of nodes) {
      const name = informerNode.metadata!.name!;
      let result: { node: KubeObject; observed: NodeCondition; current: NodeCondition | undefined };
      try {
        result = await this.tryUpdateNodeHealth(informerNode);
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
        continue;
      }
      const { node, observed, current } = result;
      if (node.metadata?.labels?.[LABEL_EXCLUDE_DISRUPTION] === undefined) {
        const zone = zoneKeyOf(node);
        let list = zoneConditions.get(zone);
        if (!list) zoneConditions.set(zone, (list = []));
        list.push(current);
      }
      if (!current) continue;
      try {
        await this.processTaintBasedEviction(node, observed);
        const becameNotReady = current.status !== 'True' && observed.status === 'True';
        if (becameNotReady) this.recordNodeEvent(node, 'Normal', 'NodeNotReady', 'NodeNotReady', true);
        if (becameNotReady || (this.retry.has(name) && observed.status !== 'True')) {
          await this.markPodsNotReady(this.pods.byIndex(NODE_NAME_INDEX, name), name);
        }
        this.retry.delete(name);
      } catch (err) {
        if (current.status !== 'True') this.retry.add(name);
        failures.push(`${name}: ${(err as Error).message}`);
      }
    }

    await this.handleDisruption(zoneConditions, nodes);
    await this.noExecuteTaintingPass(failures);
    if (failures.length > 0) this.ctx.log?.(`node lifecycle controller: ${failures.join('; ')}`);
  }

  /**
   * Upstream's tryUpdateNodeHealth: refreshes the node's probe time when its Ready heartbeat or Lease
   * moved, and marks its conditions Unknown once neither did for the grace period. Returns the Ready
   * condition as observed before this pass and as it is now.
   */
  private async tryUpdateNodeHealth(informerNode: KubeObject): Promise<{ node: KubeObject; observed: NodeCondition; current: NodeCondition | undefined }> {
    const name = informerNode.metadata!.name!;
    const now = this.ctx.now();
    const created = parseTime(informerNode.metadata?.creationTimestamp) ?? 0;
    let health = this.health.get(name);
    let current = nodeCondition(informerNode, 'Ready');
    let observed: NodeCondition;
    let grace: number;
    if (!current) {
      // Never posted: taken as Unknown since its creation, with the longer startup grace.
      observed = { type: 'Ready', status: 'Unknown', lastHeartbeatTime: informerNode.metadata?.creationTimestamp, lastTransitionTime: informerNode.metadata?.creationTimestamp };
      grace = this.startupGrace;
      health = health ? { ...health, ready: undefined } : { probeMs: created, readyTransitionMs: created, ready: undefined, leaseRenewTime: undefined };
    } else {
      observed = { ...current };
      grace = this.grace;
    }
    const saved = health?.ready;
    const savedLease = health?.leaseRenewTime;
    if (!health) {
      health = { probeMs: now, readyTransitionMs: now, ready: current, leaseRenewTime: undefined };
    } else if (!saved !== !current) {
      health = { probeMs: now, readyTransitionMs: now, ready: current, leaseRenewTime: savedLease };
    } else if (saved && current && parseTime(saved.lastHeartbeatTime) !== parseTime(current.lastHeartbeatTime)) {
      // A new heartbeat; the transition time moves only if Ready itself changed.
      const transition = parseTime(saved.lastTransitionTime) !== parseTime(current.lastTransitionTime) ? now : health.readyTransitionMs;
      health = { probeMs: now, readyTransitionMs: transition, ready: current, leaseRenewTime: savedLease };
    }
    // A renewed Lease counts as much as a heartbeat (kubelets renew it more often than they post status).
    const renew = this.leases.get(`${NODE_LEASE_NAMESPACE}/${name}`)?.spec?.renewTime as string | undefined;
    if (renew && (savedLease === undefined || (parseTime(savedLease) ?? 0) < (parseTime(renew) ?? 0))) {
      health = { ...health, leaseRenewTime: renew, probeMs: now };
    }
    this.health.set(name, health);

    if (now <= health.probeMs + grace) return { node: informerNode, observed, current };

    const node = structuredClone(informerNode);
    const conditions: NodeCondition[] = (node.status ??= {}).conditions ??= [];
    const stamp = rfc3339(now);
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      const c = conditions.find((x) => x?.type === type);
      if (!c) {
        conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata?.creationTimestamp, lastTransitionTime: stamp });
      } else if (c.status !== 'Unknown') {
        c.status = 'Unknown';
        c.reason = 'NodeStatusUnknown';
        c.message = 'Kubelet stopped posting node status.';
        c.lastTransitionTime = stamp;
      }
    }
    current = nodeCondition(node, 'Ready');
    if (sameCondition(current, observed)) return { node: informerNode, observed, current: nodeCondition(informerNode, 'Ready') };
    const written = await this.ctx.client.update(NODES, '', node, { subresource: 'status' });
    this.health.set(name, { ...health, readyTransitionMs: now, ready: current });
    return { node: written, observed, current };
  }

  // ---- taint-based eviction ----

  private zoneOf(zone: string): ZoneLimiter {
    let l = this.limiters.get(zone);
    if (!l) {
      this.limiters.set(zone, (l = new ZoneLimiter(this.evictionQps, this.ctx.now())));
      this.zoneStates.set(zone, 'Initial');
    }
    return l;
  }

  private pendingIn(zone: string): Set<string> {
    let p = this.pending.get(zone);
    if (!p) this.pending.set(zone, (p = new Set()));
    return p;
  }

  private async processTaintBasedEviction(node: KubeObject, observed: NodeCondition): Promise<void> {
    const name = node.metadata!.name!;
    const zone = zoneKeyOf(node);
    switch (observed.status) {
      case 'False':
      case 'Unknown': {
        const [want, opposite] = observed.status === 'False' ? [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE] : [TAINT_NODE_UNREACHABLE, TAINT_NODE_NOT_READY];
        if (hasTaint(node, opposite, 'NoExecute')) {
          // One NoExecute reason replaces the other at once: the node was tainted already.
          await this.changeTaints(name, [{ key: want, effect: 'NoExecute' }], [{ key: opposite, effect: 'NoExecute' }]);
          this.pendingIn(zone).delete(name);
        } else if (!hasTaint(node, want, 'NoExecute')) {
          this.pendingIn(zone).add(name);
        } else {
          this.pendingIn(zone).delete(name);
        }
        return;
      }
      case 'True':
        await this.markNodeAsReachable(node);
    }
  }

  private async markNodeAsReachable(node: KubeObject): Promise<void> {
    const name = node.metadata!.name!;
    for (const p of this.pending.values()) p.delete(name);
    if (hasTaint(node, TAINT_NODE_UNREACHABLE, 'NoExecute') || hasTaint(node, TAINT_NODE_NOT_READY, 'NoExecute')) {
      await this.changeTaints(name, [], [
        { key: TAINT_NODE_UNREACHABLE, effect: 'NoExecute' },
        { key: TAINT_NODE_NOT_READY, effect: 'NoExecute' },
      ]);
    }
  }

  /** Taints the waiting nodes as each zone's limiter lets through (upstream's doNoExecuteTaintingPass). */
  private async noExecuteTaintingPass(failures: string[]): Promise<void> {
    for (const [zone, waiting] of this.pending) {
      const limiter = this.zoneOf(zone);
      for (const name of [...waiting]) {
        const node = this.nodes.get(name);
        const ready = node && nodeCondition(node, 'Ready');
        if (!node || ready?.status === 'True') {
          waiting.delete(name);
          continue;
        }
        if (!ready) continue;
        if (!limiter.tryAccept(this.ctx.now())) break;
        const [want, opposite] = ready.status === 'False' ? [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE] : [TAINT_NODE_UNREACHABLE, TAINT_NODE_NOT_READY];
        try {
          await this.changeTaints(name, [{ key: want, effect: 'NoExecute' }], [{ key: opposite, effect: 'NoExecute' }]);
          waiting.delete(name);
        } catch (err) {
          failures.push(`${name}: ${(err as Error).message}`);
        }
      }
    }
  }

  /** Upstream's handleDisruption: zone states from this pass's Ready conditions, and the limiters they call for. */
  private async handleDisruption(zoneConditions: Map<string, (NodeCondition | undefined)[]>, nodes: KubeObject[]): Promise<void> {
    const newStates = new Map<string, ZoneState>();
    let allAreFull = true;
    for (const [zone, conds] of zoneConditions) {
      const state = this.computeZoneState(conds);
      if (state !== 'FullDisruption') allAreFull = false;
      newStates.set(zone, state);
      if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, 'Initial');
    }
    let allWereFull = true;
    for (const [zone, state] of [...this.zoneStates]) {
      if (!zoneConditions.has(zone)) {
        this.zoneStates.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') {
        allWereFull = false;
        break;
      }
    }
    if (allAreFull && allWereFull) return;
    const now = this.ctx.now();
    if (allAreFull) {
      // Every node is unreachable: more likely the control plane is cut off than every node down.
      this.ctx.log?.('node lifecycle controller: all nodes are not ready; entering master disruption mode');
      for (const n of nodes) {
        try {
          await this.markNodeAsReachable(n);
        } catch (err) {
          this.ctx.log?.(`node lifecycle controller: ${n.metadata?.name}: ${(err as Error).message}`);
        }
      }
      for (const zone of this.zoneStates.keys()) {
        this.zoneOf(zone).swap(0, now);
        this.zoneStates.set(zone, 'FullDisruption');
      }
      return;
    }
    if (allWereFull) {
      this.ctx.log?.('node lifecycle controller: some nodes are ready again; exiting master disruption mode');
      for (const n of nodes) {
        const h = this.health.get(n.metadata!.name!);
        if (h) this.health.set(n.metadata!.name!, { ...h, probeMs: now, readyTransitionMs: now });
      }
      for (const zone of this.zoneStates.keys()) {
        const state = newStates.get(zone) ?? 'Normal';
        this.setLimiter(zone, zoneConditions.get(zone)?.length ?? 0, state, now);
        this.zoneStates.set(zone, state);
      }
      return;
    }
    for (const [zone, old] of this.zoneStates) {
      const state = newStates.get(zone) ?? 'Normal';
      if (state === old) continue;
      this.setLimiter(zone, zoneConditions.get(zone)?.length ?? 0, state, now);
      this.zoneStates.set(zone, state);
    }
  }

  private computeZoneState(conds: (NodeCondition | undefined)[]): ZoneState {
    let ready = 0;
    let notReady = 0;
    for (const c of conds) {
      if (c?.status === 'True') ready++;
      else notReady++;
    }
    if (ready === 0 && notReady > 0) return 'FullDisruption';
    if (notReady > 2 && notReady / (notReady + ready) >= this.unhealthyThreshold) return 'PartialDisruption';
    return 'Normal';
  }

  private setLimiter(zone: string, size: number, state: ZoneState, now: number): void {
    const qps = state === 'PartialDisruption' ? (size > this.largeCluster ? this.secondaryQps : 0) : this.evictionQps;
    this.zoneOf(zone).swap(qps, now);
  }

  // ---- pods ----

  /** Upstream's MarkPodsNotReady: Ready=False on each pod of the node that has a Ready condition still saying otherwise. */
  private async markPodsNotReady(pods: KubeObject[], nodeName: string): Promise<void> {
    const stamp = rfc3339(this.ctx.now());
    const results = await Promise.allSettled(
      pods
        .filter((p) => p.spec?.nodeName === nodeName)
        .map(async (p) => {
          const conditions = (p.status?.conditions ?? []) as PodCondition[];
          const i = conditions.findIndex((c) => c?.type === 'Ready');
          if (i < 0 || conditions[i].status === 'False') return;
          const pod = structuredClone(p);
          pod.status.conditions[i] = { ...conditions[i], status: 'False', lastTransitionTime: stamp };
          try {
            await this.ctx.client.update(PODS, pod.metadata!.namespace!, pod, { subresource: 'status' });
          } catch (err) {
            if (err instanceof ApiError && err.code === 404) return;
            throw err;
          }
          this.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
        }),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) throw failed[0].reason;
  }

  /** A pod bound to a node already known not ready is marked at once (upstream's processPod). */
  private async processPod(podKey: string): Promise<void> {
    const pod = this.pods.get(podKey);
    if (!pod?.spec?.nodeName) return;
    const nodeName = pod.spec.nodeName as string;
    const h = this.health.get(nodeName);
    if (!h) return;
    if (!this.nodes.get(nodeName)) throw new ApiError(404, 'NotFound', `node "${nodeName}" not found`);
    if (!h.ready || h.ready.status === 'True') return;
    await this.markPodsNotReady([pod], nodeName);
  }

  // ---- taints by condition and labels ----

  private async reconcileNodeTaintsAndLabels(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) return;
    const want: Taint[] = [];
    for (const c of (node.status?.conditions ?? []) as NodeCondition[]) {
      const key = CONDITION_TAINTS[c?.type]?.[c?.status];
      if (key) want.push({ key, effect: 'NoSchedule' });
    }
    if (node.spec?.unschedulable === true) want.push({ key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' });
    const have = taintsOf(node).filter((t) => t.effect === 'NoSchedule' && (t.key === TAINT_NODE_UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key)));
    const add = want.filter((w) => !have.some((h) => h.key === w.key));
    const remove = have.filter((h) => !want.some((w) => w.key === h.key));
    const labels: Record<string, string> = {};
    for (const [primary, secondary] of LABEL_PAIRS) {
      const v = node.metadata?.labels?.[primary];
      if (v !== undefined && node.metadata?.labels?.[secondary] !== v) labels[secondary] = v;
    }
    if (add.length === 0 && remove.length === 0 && Object.keys(labels).length === 0) return;
    await this.changeTaints(name, add, remove, labels);
  }

  /**
   * Adds (with timeAdded now) and removes taints, matched by key and effect, and sets labels, in one
   * update; a conflict is retried on a fresh copy as upstream's taint helpers do.
   */
  private async changeTaints(name: string, add: Taint[], remove: { key: string; effect: string }[], labels: Record<string, string> = {}): Promise<void> {
    let node = this.nodes.get(name);
    for (let attempt = 1; ; attempt++) {
      if (!node) return;
      const stamp = rfc3339(this.ctx.now());
      const before = taintsOf(node);
      let taints = before.filter((t) => !remove.some((r) => r.key === t.key && r.effect === t.effect));
      for (const a of add) {
        if (taints.some((t) => t.key === a.key && t.effect === a.effect)) continue;
        taints = [...taints, { key: a.key, effect: a.effect, timeAdded: stamp }];
      }
      const labelsNeeded = Object.entries(labels).some(([k, v]) => node!.metadata?.labels?.[k] !== v);
      if (taints.length === before.length && taints.every((t, i) => t === before[i]) && !labelsNeeded) return;
      const next = structuredClone(node);
      next.spec = { ...next.spec };
      if (taints.length > 0) next.spec.taints = taints;
      else delete next.spec.taints;
      if (labelsNeeded) next.metadata!.labels = { ...next.metadata!.labels, ...labels };
      try {
        await this.ctx.client.update(NODES, '', next);
        return;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 409) || attempt >= TAINT_WRITE_ATTEMPTS) throw err;
        try {
          node = await this.ctx.client.get(NODES, '', name);
        } catch (e) {
          if (e instanceof ApiError && e.code === 404) return;
          throw e;
        }
      }
    }
  }

  private recordNodeEvent(node: KubeObject, type: 'Normal' | 'Warning', reason: string, what: string, statusChange = false): void {
    const name = node.metadata?.name ?? '';
    const ref = { apiVersion: 'v1', kind: 'Node', name, uid: node.metadata?.uid, namespace: '' };
    this.recorder.event(ref, type, reason, statusChange ? `Node ${name} status is now: ${what}` : `Node ${name} event: ${what}`);
  }
}

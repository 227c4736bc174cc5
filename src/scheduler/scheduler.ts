/**
 * The scheduler, after kube-scheduler's default profile: it takes pending pods whose schedulerName
 * is its own, finds each a node with the plugins of framework.ts and binds it through the
 * `pods/binding` subresource.
 *
 * Built for throughput:
 * - one pod informer and one node informer (shared with the rest of the process) feed a cache of
 *   per-node sums (cache.ts) updated incrementally; nothing is listed per pod;
 * - a scheduling cycle is synchronous and reads the cache directly (no snapshot copies): it filters
 *   nodes from where the last cycle stopped until it has found upstream's adaptive share of
 *   feasible nodes (percentageOfNodesToScore), scores those and picks the best;
 * - the chosen node is *assumed* at once (the pod counts against it in the cache) and the binding
 *   is written asynchronously with bounded concurrency while the loop goes on;
 * - the loop runs in slices of a few milliseconds, so bindings, watch events and the rest of the
 *   process keep flowing.
 *
 * A pod no node fits gets a FailedScheduling event and PodScheduled=False (reason Unschedulable)
 * with upstream's FitError message (written only when it changes), DefaultPreemption may evict
 * lower-priority pods and nominate a node, and the pod waits in the queue for a cluster event that
 * could help (queue.ts).
 *
 * Priority: upstream's Priority admission copies a PriorityClass's value into spec.priority; skiff
 * has none yet, so a pod without spec.priority takes the value of its priorityClassName from a
 * PriorityClass informer (or the built-in system classes), and 0 without one.
 */
import type { KubeObject } from '../api/types.js';
import type { Informer } from '../client/informer.js';
import type { ResourceRef } from '../client/interface.js';
import type { EventRecorder } from '../client/events.js';
import type { ControllerContext } from '../controllers/context.js';
import { NODES, PODS } from '../controllers/pods.js';
import { nodeAdmits } from './admission.js';
import { SchedulerCache } from './cache.js';
import { ClusterEvent, Code, CycleState, FitError, Framework, Status, type AnyPlugin, type BindPlugin, type Handle } from './framework.js';
import type { NodeInfo } from './node-info.js';
import { newPodInfo, type PodInfo } from './pod-info.js';
import { PodWriter } from './pod-writes.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue.js';
import { defaultPlugins } from './plugins/registry.js';
import { NAMESPACES } from '../controllers/pods.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
export const PRIORITY_CLASSES: ResourceRef = { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses' };
export const PDBS: ResourceRef = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' };

/** The built-in classes upstream's apiserver creates. */
const SYSTEM_PRIORITY_CLASSES: Record<string, number> = { 'system-node-critical': 2_000_001_000, 'system-cluster-critical': 2_000_000_000 };

export const ERR_NO_NODES_AVAILABLE = 'no nodes available to schedule pods';
const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
/** Upstream's event note limit. */
const NOTE_LENGTH_LIMIT = 1024;

export interface SchedulerOptions {
  /** Pods with this spec.schedulerName are ours (default 'default-scheduler'). */
  schedulerName?: string;
  /** Bindings written at once (default 32). */
  bindConcurrency?: number;
  /** Share of nodes to find feasible before scoring, 1-100; 0 or unset is upstream's adaptive default. */
  percentageOfNodesToScore?: number;
  podInitialBackoffSeconds?: number;
  podMaxBackoffSeconds?: number;
  /** Unschedulable pods are retried after this long without an event (default 5 min). */
  podMaxInUnschedulablePodsSeconds?: number;
  /** How long one slice of the scheduling loop may run before yielding (default 8 ms). */
  sliceMs?: number;
  /** Replaces the default profile's plugins (tests). */
  plugins?: AnyPlugin[];
  random?: () => number;
  log?: (message: string) => void;
}

type ScheduleResult =
  | { node: NodeInfo }
  | { fit: FitError }
  | { error: Status };

/** Upstream's numFeasibleNodesToFind. */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) {
    pct = 50 - Math.trunc(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * Math.min(pct, 100)) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

function truncateMessage(m: string): string {
  return m.length <= NOTE_LENGTH_LIMIT ? m : `${m.slice(0, NOTE_LENGTH_LIMIT - 4)} ...`;
}

/** Which scheduling-relevant parts of a Node changed (upstream's nodeSchedulingPropertiesChange). */
export function nodeChangeEvents(oldNode: KubeObject, newNode: KubeObject): number {
  let ev = 0;
  if (!same(oldNode.status?.allocatable, newNode.status?.allocatable)) ev |= ClusterEvent.NodeUpdateAllocatable;
  if (!same(oldNode.metadata?.labels, newNode.metadata?.labels)) ev |= ClusterEvent.NodeUpdateLabel;
  if (!same(oldNode.spec?.taints, newNode.spec?.taints) || Boolean(oldNode.spec?.unschedulable) !== Boolean(newNode.spec?.unschedulable)) ev |= ClusterEvent.NodeUpdateTaint;
  if (!same(conditionsSansHeartbeat(oldNode), conditionsSansHeartbeat(newNode))) ev |= ClusterEvent.NodeUpdateCondition;
  if (!same(oldNode.metadata?.annotations, newNode.metadata?.annotations)) ev |= ClusterEvent.NodeUpdateAnnotation;
  return ev;
}

function conditionsSansHeartbeat(node: KubeObject): unknown {
  const conds = node.status?.conditions;
  if (!Array.isArray(conds)) return undefined;
  return conds.map((c: any) => ({ type: c?.type, status: c?.status, reason: c?.reason, message: c?.message }));
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

interface BindItem {
  qp: QueuedPodInfo;
  info: PodInfo;
  node: string;
}

export class Scheduler {
  readonly schedulerName: string;
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly framework: Framework;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly priorityClasses: Informer;
  private readonly namespaces: Informer;
  private readonly pdbs: Informer;
  private readonly recorder: EventRecorder;
  private readonly writer: PodWriter;
  private readonly binder: BindPlugin;
  private readonly infos = new WeakMap<KubeObject, PodInfo>();
  private readonly bindQueue: BindItem[] = [];
  private readonly binding = new Set<Promise<void>>();
  private readonly bindConcurrency: number;
  private readonly percentageOfNodesToScore: number;
  private readonly sliceMs: number;
  private readonly random: () => number;
  private readonly log: (message: string) => void;
  private nextStartNodeIndex = 0;
  private loopScheduled = false;
  private running = false;
  private stopped = false;
  private started: Promise<void> | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private totals = new Float64Array(256);
  private scratch = new Float64Array(256);

  constructor(
    ctx: ControllerContext,
    opts: SchedulerOptions = {},
  ) {
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.bindConcurrency = Math.max(1, opts.bindConcurrency ?? 32);
    this.percentageOfNodesToScore = opts.percentageOfNodesToScore ?? 0;
    this.sliceMs = opts.sliceMs ?? 8;
    this.random = opts.random ?? Math.random;
    this.log = opts.log ?? ctx.log ?? ((m) => console.error(`scheduler: ${m}`));
    this.recorder = ctx.recorder(this.schedulerName);
    this.writer = new PodWriter(ctx.client, this.recorder, this.schedulerName, ctx.now, this.log);
    this.pods = ctx.informers.informer(PODS);
    this.nodes = ctx.informers.informer(NODES);
    this.priorityClasses = ctx.informers.informer(PRIORITY_CLASSES);
    this.namespaces = ctx.informers.informer(NAMESPACES);
    this.pdbs = ctx.informers.informer(PDBS);
    const namespaceLabels = (ns: string) => this.namespaces.get(ns)?.metadata?.labels;
    this.queue = new SchedulingQueue({
      initialBackoffMs: (opts.podInitialBackoffSeconds ?? 1) * 1000,
      maxBackoffMs: (opts.podMaxBackoffSeconds ?? 10) * 1000,
      maxInUnschedulableMs: (opts.podMaxInUnschedulablePodsSeconds ?? 300) * 1000,
      onWork: () => this.kick(),
      namespaceLabels,
      nodePreCheck: nodeAdmits,
    });
    const handle: Handle = {
      nodes: () => this.cache.nodes(),
      nodeInfo: (name) => this.cache.nodeInfo(name),
      nodesWithAffinity: () => this.cache.nodesWithAffinity(),
      nodesWithRequiredAntiAffinity: () => this.cache.nodesWithRequiredAntiAffinity(),
      nominatedPods: (node) => (this.queue.nominator.size === 0 ? undefined : this.queue.nominator.podsOn(node)),
    };
    const plugins =
      opts.plugins ??
      defaultPlugins({
        client: ctx.client,
        namespaceLabels,
        preemption: {
          actions: {
            evict: (v, p, n) => this.writer.evict(v, p, n),
            clearNomination: (p) => {
              this.queue.nominator.delete(p.key);
              const cur = this.pods.get(p.key);
              if (cur) this.writer.clearNomination(cur);
            },
          },
          pdbs: () => this.pdbs.list(),
          nominatedNodeOf: (p) => this.queue.nominator.nodeFor(p.key) ?? p.pod.status?.nominatedNodeName,
          random: this.random,
        },
      });
    this.framework = new Framework(plugins, handle);
    this.binder = (plugins.find((p) => p.bind) as BindPlugin | undefined) ?? {
      name: 'none',
      bind: () => Promise.reject(new Error('no Bind plugin')),
    };
    this.registerHandlers();
  }

  /** Resolves once the informers have synced and the loop runs. */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.writer.stopped = true;
    this.running = false;
    this.queue.close();
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.bindQueue.length = 0;
    await Promise.allSettled([...this.binding]);
  }

  private async run(): Promise<void> {
    const all = [this.nodes, this.pods, this.priorityClasses, this.namespaces, this.pdbs];
    for (const inf of all) inf.start();
    const synced = await Promise.all(all.map((inf) => inf.waitForSync()));
    if (this.stopped || !synced.every(Boolean)) return;
    this.running = true;
    this.cleanupTimer = setInterval(() => {
      if (this.cache.cleanupAssumed() > 0) this.queue.onClusterEvent(ClusterEvent.AssignedPodDelete);
    }, 1000);
    this.cleanupTimer.unref();
    this.kick();
  }

  // ---- informers ----

  private resolvePriority(pod: KubeObject): { priority: number; preemptionPolicy?: string } | undefined {
    const spec = pod.spec;
    if (typeof spec?.priority === 'number') return undefined;
    const cls = spec?.priorityClassName;
    if (typeof cls !== 'string' || cls === '') return undefined;
    const pc = this.priorityClasses.get(cls);
    if (pc && typeof pc.value === 'number') return { priority: pc.value, preemptionPolicy: typeof pc.preemptionPolicy === 'string' ? pc.preemptionPolicy : undefined };
    const builtin = SYSTEM_PRIORITY_CLASSES[cls];
    return builtin !== undefined ? { priority: builtin } : undefined;
  }

  /** The PodInfo of an informer object, built once (and again if its PriorityClass changed). */
  infoOf(pod: KubeObject): PodInfo {
    const resolved = this.resolvePriority(pod);
    let info = this.infos.get(pod);
    if (info && (!resolved || (info.priority === resolved.priority && info.preemptionPolicy === (resolved.preemptionPolicy ?? 'PreemptLowerPriority')))) return info;
    info = newPodInfo(pod, resolved ?? {});
    this.infos.set(pod, info);
    return info;
  }

  private responsible(info: PodInfo): boolean {
    return info.schedulerName === this.schedulerName;
  }

  private registerHandlers(): void {
    // Shared informers cannot drop handlers: a stopped scheduler ignores what they still send.
    const live = () => !this.stopped;
    this.nodes
      .onAdd((node) => {
        if (!live()) return;
        this.queue.onNodeEvent(this.cache.setNode(node), ClusterEvent.NodeAdd);
      })
      .onUpdate((oldNode, node) => {
        if (!live()) return;
        const info = this.cache.setNode(node);
        const ev = nodeChangeEvents(oldNode, node);
        if (ev !== 0) this.queue.onNodeEvent(info, ev);
      })
      .onDelete((node) => {
        if (!live()) return;
        this.cache.removeNode(node.metadata?.name ?? '');
        this.queue.onClusterEvent(ClusterEvent.NodeDelete);
      });

    this.pods
      .onAdd((pod) => live() && this.onPod(undefined, pod))
      .onUpdate((oldPod, pod) => live() && this.onPod(oldPod, pod))
      .onDelete((pod) => live() && this.onPodDelete(pod));

    const requeueClass = (pc: KubeObject) => {
      if (!live()) return;
      const name = pc.metadata?.name;
      for (const pod of this.pods.list()) {
        if (pod.spec?.priorityClassName === name && !pod.spec?.nodeName && typeof pod.spec?.priority !== 'number') this.onPod(pod, pod);
      }
    };
    this.priorityClasses.onAdd(requeueClass).onUpdate((_o, pc) => requeueClass(pc)).onDelete(requeueClass);
  }

  private onPod(oldPod: KubeObject | undefined, pod: KubeObject): void {
    const info = this.infoOf(pod);
    const wasAssigned = Boolean(oldPod?.spec?.nodeName);
    if (info.nodeName !== '') {
      if (!wasAssigned) {
        // Bound (by us or anyone): it leaves the queue and the nominations.
        this.queue.delete(info.key);
      }
      if (info.terminal) {
        if (this.cache.removePod(info.key)) this.queue.onClusterEvent(ClusterEvent.AssignedPodDelete);
        return;
      }
      this.cache.addPod(info);
      this.queue.onAssignedPod(info, wasAssigned ? ClusterEvent.AssignedPodUpdate : ClusterEvent.AssignedPodAdd);
      return;
    }
    if (!this.responsible(info)) return;
    if (info.terminal || info.terminating) {
      this.queue.delete(info.key);
      return;
    }
    const nominated = pod.status?.nominatedNodeName;
    if (typeof nominated === 'string' && nominated !== '') this.queue.nominator.set(info, nominated);
    if (oldPod === undefined) this.queue.add(info);
    else this.queue.update(info);
  }

  private onPodDelete(pod: KubeObject): void {
    const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    if (pod.spec?.nodeName) {
      if (this.cache.removePod(key)) this.queue.onClusterEvent(ClusterEvent.AssignedPodDelete);
      return;
    }
    this.queue.delete(key);
    if (this.cache.isAssumed(key)) {
      this.cache.forgetPod(key);
      this.queue.onClusterEvent(ClusterEvent.AssignedPodDelete);
    }
  }

  // ---- the loop ----

  private kick(): void {
    if (this.loopScheduled || !this.running || this.stopped) return;
    this.loopScheduled = true;
    setImmediate(() => this.runSlice());
  }

  private runSlice(): void {
    this.loopScheduled = false;
    if (!this.running || this.stopped) return;
    this.queue.flushEvents();
    const until = performance.now() + this.sliceMs;
    for (;;) {
      const qp = this.queue.pop();
      if (!qp) break;
      try {
        this.scheduleOne(qp);
      } catch (err) {
        this.log(`scheduling ${qp.key}: ${(err as Error).stack ?? err}`);
        this.queue.requeue(qp, new Set(), 0);
      }
      if (performance.now() >= until) break;
    }
    if (this.queue.activeLength() > 0) this.kick();
  }

  /** One scheduling cycle: find a node, assume the pod there, and queue its binding. */
  scheduleOne(qp: QueuedPodInfo): void {
    const info = qp.info;
    const state = new CycleState();
    const r = this.schedulePod(state, info);
    if ('node' in r) {
      const node = r.node.name;
      this.cache.assumePod(info, node);
      this.queue.nominator.delete(info.key);
      this.bindQueue.push({ qp, info, node });
      this.pumpBinds();
      return;
    }
    if ('error' in r) {
      const unresolvable = r.error.code === Code.UnschedulableAndUnresolvable;
      this.handleFailure(qp, r.error.message(), unresolvable ? 'Unschedulable' : 'SchedulerError', new Set(), unresolvable ? '' : undefined);
      return;
    }
    const fit = r.fit;
    let nominated: string | undefined;
    if (this.framework.postFilter.length > 0) {
      const pf = this.framework.runPostFilter(state, info, fit.nodeToStatus);
      fit.postFilterMsg = pf.status.message();
      nominated = pf.result?.nominatedNodeName;
    }
    this.handleFailure(qp, fit.message(), 'Unschedulable', fit.unschedulablePlugins, nominated);
  }

  /** Upstream's schedulePod: the node for `pod`, or why there is none. */
  schedulePod(state: CycleState, pod: PodInfo): ScheduleResult {
    const all = this.cache.nodes();
    if (all.length === 0) return { error: new Status(Code.UnschedulableAndUnresolvable, [ERR_NO_NODES_AVAILABLE]) };
    const fw = this.framework;
    const pre = fw.runPreFilter(state, pod);
    if (pre.status) {
      if (!pre.status.isRejected()) return { error: pre.status };
      const statuses = new Map<string, Status>();
      for (const n of all) statuses.set(n.name, pre.status);
      const fit = new FitError(all.length, statuses, new Set(pre.status.plugin ? [pre.status.plugin] : []));
      fit.preFilterMsg = pre.status.message();
      return { fit };
    }

    // A pod that preemption made room for tries its nominated node first.
    const nominated = this.queue.nominator.nodeFor(pod.key) ?? pod.pod.status?.nominatedNodeName;
    if (nominated) {
      const n = this.cache.nodeInfo(nominated);
      if (n && (!pre.nodeNames || pre.nodeNames.has(n.name)) && fw.runFilterWithNominatedPods(state, pod, n) === null) return { node: n };
    }

    const statuses = new Map<string, Status>();
    const plugins = new Set<string>();
    let nodes = all;
    if (pre.nodeNames) {
      // A DaemonSet pod names one node of thousands: look that one up instead of walking them all.
      const pinned: NodeInfo[] = [];
      for (const name of pre.nodeNames) {
        const n = this.cache.nodeInfo(name);
        if (n) pinned.push(n);
      }
      nodes = pinned;
    }
    const feasible: NodeInfo[] = [];
    const len = nodes.length;
    if (len > 0) {
      const want = numFeasibleNodesToFind(len, this.percentageOfNodesToScore);
      const start = this.nextStartNodeIndex % len;
      let processed = 0;
      for (let i = 0; i < len; i++) {
        const n = nodes[(start + i) % len];
        processed++;
        const s = fw.runFilterWithNominatedPods(state, pod, n);
        if (s === null) {
          feasible.push(n);
          if (feasible.length >= want) break;
        } else {
          statuses.set(n.name, s);
          if (s.plugin) plugins.add(s.plugin);
          if (!s.isRejected()) return { error: s };
        }
      }
      this.nextStartNodeIndex = (start + processed) % len;
    }
    if (feasible.length === 0) {
      if (pre.nodeNames) {
        const filteredOut = Status.unresolvable('node is filtered out by the prefilter result');
        for (const n of all) if (!pre.nodeNames.has(n.name)) statuses.set(n.name, filteredOut);
      }
      return { fit: new FitError(all.length, statuses, plugins) };
    }
    if (feasible.length === 1) return { node: feasible[0] };
    return { node: this.prioritize(state, pod, feasible) };
  }

  /** Scores the feasible nodes and picks one of the best at random (upstream's selectHost). */
  private prioritize(state: CycleState, pod: PodInfo, feasible: NodeInfo[]): NodeInfo {
    const fw = this.framework;
    const pre = fw.runPreScore(state, pod, feasible);
    if (pre) this.log(`PreScore for ${pod.key}: ${pre.message()}`);
    const n = feasible.length;
    if (this.totals.length < n) {
      this.totals = new Float64Array(n * 2);
      this.scratch = new Float64Array(n * 2);
    }
    const totals = this.totals;
    fw.runScore(state, pod, feasible, totals, this.scratch);
    let best = 0;
    let ties = 1;
    for (let i = 1; i < n; i++) {
      if (totals[i] > totals[best]) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (Math.floor(this.random() * ties) === 0) best = i;
      }
    }
    return feasible[best];
  }

  // ---- binding ----

  private pumpBinds(): void {
    while (this.binding.size < this.bindConcurrency && this.bindQueue.length > 0 && !this.stopped) {
      const item = this.bindQueue.shift()!;
      const p = this.bind(item).finally(() => {
        this.binding.delete(p);
        this.pumpBinds();
      });
      this.binding.add(p);
    }
  }

  private async bind(item: BindItem): Promise<void> {
    const { qp, info, node } = item;
    try {
      await this.binder.bind(info, node);
    } catch (err) {
      if (this.stopped) return;
      this.cache.forgetPod(info.key);
      // The room the pod held is free again.
      this.queue.onClusterEvent(ClusterEvent.AssignedPodDelete);
      this.handleFailure(qp, `running Bind plugin "${this.binder.name}": ${(err as Error).message}`, 'SchedulerError', new Set(), undefined);
      return;
    }
    this.cache.finishBinding(info.key);
    this.queue.done(qp);
    this.recorder.event(info.pod, 'Normal', 'Scheduled', `Successfully assigned ${info.namespace}/${info.name} to ${node}`);
  }

  // ---- failures ----

  /**
   * Upstream's handleSchedulingFailure: back to the queue, a FailedScheduling event, and the
   * PodScheduled condition (and nominatedNodeName: '' clears it, undefined leaves it) when they change.
   */
  private handleFailure(qp: QueuedPodInfo, message: string, reason: string, plugins: ReadonlySet<string>, nominated: string | undefined): void {
    const cur = this.pods.get(qp.key);
    if (!cur || cur.metadata?.uid !== qp.info.uid || cur.spec?.nodeName) {
      // Gone, replaced, or bound meanwhile: nothing to retry.
      this.queue.done(qp);
      return;
    }
    this.queue.requeue(qp, plugins, this.framework.eventsFor(plugins));
    if (nominated !== undefined) this.queue.nominator.set(qp.info, nominated);
    this.recorder.event(cur, 'Warning', 'FailedScheduling', truncateMessage(message));
    this.writer.notScheduled(cur, reason, message, nominated);
  }
}


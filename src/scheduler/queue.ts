/**
 * The scheduling queue, after upstream's PriorityQueue:
 *
 * - activeQ: pods ready to be tried, highest priority first, then the earliest to enter the queue;
 * - backoffQ: pods that failed recently, each waiting 1 s · 2^(attempts-1), at most 10 s;
 * - unschedulable: pods no node fits. They stay until a cluster event that could change that for
 *   the plugins that rejected them (a node added, a pod deleted, a label changed, ...), and then go
 *   to backoffQ, or straight to activeQ when their backoff is over. Pods left there for 5 minutes
 *   are retried anyway;
 * - gated: pods with schedulingGates, until an update removes the last gate.
 *
 * Cluster events are collected and applied in one pass before the next pod is taken, so a burst of
 * thousands of bindings costs one walk over the unschedulable pods, not one per event.
 *
 * The nominator remembers pods nominated to a node by preemption, so lower-priority pods do not
 * take the room that was made for them.
 */
import { ClusterEvent } from './framework.js';
import { Heap, type HeapItem } from './heap.js';
import type { NodeInfo } from './node-info.js';
import type { NamespaceLabels, PodInfo } from './pod-info.js';
import { termMatches } from './pod-info.js';

export type QueueState = 'active' | 'backoff' | 'unschedulable' | 'gated' | 'inflight';

export interface QueuedPodInfo extends HeapItem {
  readonly key: string;
  info: PodInfo;
  /** When the pod last entered the queue (order among equal priorities). */
  timestamp: number;
  seq: number;
  /** Scheduling attempts so far. */
  attempts: number;
  /** When the last attempt failed; backoff runs from here. */
  failedAt: number;
  /** Plugins that rejected the pod in its last attempt. */
  unschedulablePlugins: ReadonlySet<string>;
  /** The cluster events that may make it schedulable (from its rejecting plugins). */
  events: number;
  state: QueueState;
}

export interface SchedulingQueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Pods unschedulable for longer than this are retried without an event (default 5 min). */
  maxInUnschedulableMs?: number;
  now?: () => number;
  /** Called when there may be work: a pod became active or events are pending. */
  onWork?: () => void;
  /** Namespace labels, for matching pod affinity terms against assigned pods. */
  namespaceLabels?: NamespaceLabels;
  /** Whether a pod could go to a node that was added or changed (default: always). */
  nodePreCheck?: (pod: PodInfo, node: NodeInfo) => boolean;
}

const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';

function lessActive(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const pa = a.info.priority;
  const pb = b.info.priority;
  if (pa !== pb) return pa > pb;
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
  return a.seq < b.seq;
}

/** True when the update changes more than status and bookkeeping: upstream's isPodUpdated. */
export function podSpecOrMetaChanged(oldInfo: PodInfo, newInfo: PodInfo): boolean {
  const o = oldInfo.pod;
  const n = newInfo.pod;
  if (o === n) return false;
  return !deepEqual(o.spec, n.spec) || !deepEqual(o.metadata?.labels, n.metadata?.labels) || !deepEqual(o.metadata?.annotations, n.metadata?.annotations);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!deepEqual((a as any)[k], (b as any)[k])) return false;
  return true;
}

export class Nominator {
  private readonly byNode = new Map<string, Map<string, PodInfo>>();
  private readonly nodeOf = new Map<string, string>();

  set(info: PodInfo, node: string): void {
    if (node === '') {
      this.delete(info.key);
      return;
    }
    const prior = this.nodeOf.get(info.key);
    if (prior !== undefined && prior !== node) this.byNode.get(prior)?.delete(info.key);
    let m = this.byNode.get(node);
    if (!m) this.byNode.set(node, (m = new Map()));
    m.set(info.key, info);
    this.nodeOf.set(info.key, node);
  }

  /** Keeps a nominated pod's info current (its priority or requests may have changed). */
  refresh(info: PodInfo): void {
    const node = this.nodeOf.get(info.key);
    if (node !== undefined) this.byNode.get(node)?.set(info.key, info);
  }

  delete(key: string): void {
    const node = this.nodeOf.get(key);
    if (node === undefined) return;
    this.nodeOf.delete(key);
    const m = this.byNode.get(node);
    m?.delete(key);
    if (m?.size === 0) this.byNode.delete(node);
  }

  nodeFor(key: string): string | undefined {
    return this.nodeOf.get(key);
  }

  podsOn(node: string): Iterable<PodInfo> | undefined {
    return this.byNode.get(node)?.values();
  }

  get size(): number {
    return this.nodeOf.size;
  }
}

export class SchedulingQueue {
  private readonly pods = new Map<string, QueuedPodInfo>();
  private readonly active = new Heap<QueuedPodInfo>(lessActive);
  private readonly backoff = new Heap<QueuedPodInfo>((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  readonly nominator = new Nominator();
  private pendingEvents = 0;
  private pendingAssigned: PodInfo[] = [];
  private pendingAssignedEvents = 0;
  private pendingNodes = new Map<NodeInfo, number>();
  private seq = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private backoffTimerAt = Infinity;
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  private readonly now: () => number;
  private readonly onWork: () => void;
  private readonly nsLabels: NamespaceLabels;
  private readonly nodePreCheck: (pod: PodInfo, node: NodeInfo) => boolean;

  constructor(opts: SchedulingQueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxInUnschedulableMs = opts.maxInUnschedulableMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
    this.onWork = opts.onWork ?? (() => undefined);
    this.nsLabels = opts.namespaceLabels ?? (() => undefined);
    this.nodePreCheck = opts.nodePreCheck ?? (() => true);
    // Upstream checks every 30 s for pods that have waited too long.
    this.flushTimer = setInterval(() => this.flushUnschedulableLeftover(), Math.min(30_000, this.maxInUnschedulableMs));
    this.flushTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.flushTimer);
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
  }

  // ---- the informer's view of unscheduled pods ----

  /** A new unscheduled pod. */
  add(info: PodInfo): void {
    if (this.pods.has(info.key)) {
      this.update(info);
      return;
    }
    const qp: QueuedPodInfo = {
      key: info.key,
      info,
      timestamp: this.now(),
      seq: this.seq++,
      attempts: 0,
      failedAt: 0,
      unschedulablePlugins: new Set(),
      events: 0,
      state: 'gated',
      heapIndex: -1,
    };
    this.pods.set(info.key, qp);
    if (!info.gated) this.toActive(qp);
  }

  /** An unscheduled pod changed. */
  update(info: PodInfo): void {
    const qp = this.pods.get(info.key);
    if (!qp) {
      this.add(info);
      return;
    }
    if (qp.info.uid !== info.uid) {
      // Same name, another pod: the old one is gone.
      this.delete(info.key);
      this.add(info);
      return;
    }
    const old = qp.info;
    qp.info = info;
    this.nominator.refresh(info);
    switch (qp.state) {
      case 'active':
        this.active.update(qp);
        return;
      case 'backoff':
        return;
      case 'gated':
        if (!info.gated) this.toActive(qp);
        return;
      case 'unschedulable':
        if (podSpecOrMetaChanged(old, info)) {
          this.unschedulable.delete(qp.key);
          this.toActiveOrBackoff(qp);
        }
        return;
      case 'inflight':
        return;
    }
  }

  delete(key: string): void {
    const qp = this.pods.get(key);
    this.nominator.delete(key);
    if (!qp) return;
    this.pods.delete(key);
    this.detach(qp);
  }

  has(key: string): boolean {
    return this.pods.has(key);
  }

  get(key: string): QueuedPodInfo | undefined {
    return this.pods.get(key);
  }

  // ---- the scheduling loop's side ----

  /** The next pod to try, or undefined. The pod stays known to the queue (in flight) until done() or a requeue. */
  pop(): QueuedPodInfo | undefined {
    const qp = this.active.pop();
    if (!qp) return undefined;
    qp.state = 'inflight';
    qp.attempts++;
    return qp;
  }

  activeLength(): number {
    return this.active.size;
  }

  /** Lengths, for tests and diagnostics. */
  lengths(): { active: number; backoff: number; unschedulable: number; gated: number; total: number } {
    let gated = 0;
    for (const qp of this.pods.values()) if (qp.state === 'gated') gated++;
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size, gated, total: this.pods.size };
  }

  /** The pod is bound (or gone): the queue forgets this entry, unless the name now belongs to another pod. */
  done(qp: QueuedPodInfo): void {
    if (this.pods.get(qp.key) !== qp) return;
    this.pods.delete(qp.key);
    this.detach(qp);
  }

  /**
   * A failed attempt. Rejected by plugins: the pod waits in unschedulable for an event those plugins
   * care about. Failed for another reason (an error, a failed binding): it goes to backoffQ.
   */
  requeue(qp: QueuedPodInfo, plugins: ReadonlySet<string>, events: number): void {
    if (this.pods.get(qp.key) !== qp || qp.state !== 'inflight') return;
    const now = this.now();
    qp.failedAt = now;
    qp.timestamp = now;
    qp.seq = this.seq++;
    qp.unschedulablePlugins = plugins;
    qp.events = events;
    if (plugins.size === 0) {
      this.toBackoff(qp);
      return;
    }
    qp.state = 'unschedulable';
    this.unschedulable.set(qp.key, qp);
  }

  // ---- cluster events ----

  /** Something changed that may make pods rejected by the plugins interested in `event` fit. */
  onClusterEvent(event: number): void {
    if (this.unschedulable.size === 0 || this.closed) return;
    this.pendingEvents |= event;
    this.onWork();
  }

  /** A node was added or changed (`event`): it brings back the pods it may take. */
  onNodeEvent(node: NodeInfo, event: number): void {
    if (this.unschedulable.size === 0 || this.closed) return;
    this.pendingNodes.set(node, (this.pendingNodes.get(node) ?? 0) | event);
    this.onWork();
  }

  /** A pod was bound (or a bound pod changed): pods whose required affinity it matches may fit now. */
  onAssignedPod(info: PodInfo, event: number): void {
    if (this.unschedulable.size === 0 || this.closed) return;
    // Unlike other events, these only move pods the assigned pod may help (checked in flushEvents).
    this.pendingAssigned.push(info);
    this.pendingAssignedEvents |= event;
    this.onWork();
  }

  /** Applies the cluster events collected since the last call. */
  flushEvents(): void {
    const events = this.pendingEvents;
    const assigned = this.pendingAssigned;
    const assignedEvents = this.pendingAssignedEvents;
    const nodes = this.pendingNodes;
    if (events === 0 && assigned.length === 0 && nodes.size === 0) return;
    this.pendingEvents = 0;
    this.pendingAssigned = [];
    this.pendingAssignedEvents = 0;
    this.pendingNodes = new Map();
    const wildcard = (events & ClusterEvent.WildCard) !== 0;
    for (const qp of [...this.unschedulable.values()]) {
      let move = wildcard || (qp.events & events) !== 0;
      if (!move && nodes.size > 0) {
        for (const [node, ev] of nodes) {
          if ((qp.events & ev) !== 0 && this.nodePreCheck(qp.info, node)) {
            move = true;
            break;
          }
        }
      }
      if (!move && assigned.length > 0 && (qp.events & assignedEvents) !== 0) move = this.crossTopologyMatch(qp, assigned);
      if (move) {
        this.unschedulable.delete(qp.key);
        this.toActiveOrBackoff(qp);
      }
    }
  }

  /** Upstream's getUnschedulablePodsWithCrossTopologyTerm, for one pod. */
  private crossTopologyMatch(qp: QueuedPodInfo, assigned: readonly PodInfo[]): boolean {
    if (qp.unschedulablePlugins.has(POD_TOPOLOGY_SPREAD)) return true;
    const terms = qp.info.requiredAffinityTerms;
    if (!terms) return false;
    for (const a of assigned) for (const t of terms) if (termMatches(t, a, this.nsLabels)) return true;
    return false;
  }

  /** Moves every unschedulable pod that has waited longer than maxInUnschedulableMs. */
  flushUnschedulableLeftover(): void {
    const now = this.now();
    for (const qp of [...this.unschedulable.values()]) {
      if (now - qp.timestamp > this.maxInUnschedulableMs) {
        this.unschedulable.delete(qp.key);
        this.toActiveOrBackoff(qp);
      }
    }
  }

  // ---- moves ----

  backoffDuration(qp: QueuedPodInfo): number {
    if (qp.attempts <= 0) return 0;
    const d = this.initialBackoffMs * 2 ** Math.min(qp.attempts - 1, 30);
    return Math.min(d, this.maxBackoffMs);
  }

  private backoffExpiry(qp: QueuedPodInfo): number {
    return qp.failedAt + this.backoffDuration(qp);
  }

  private toActive(qp: QueuedPodInfo): void {
    qp.state = 'active';
    this.active.push(qp);
    this.onWork();
  }

  private toBackoff(qp: QueuedPodInfo): void {
    qp.state = 'backoff';
    this.backoff.push(qp);
    this.armBackoff();
  }

  private toActiveOrBackoff(qp: QueuedPodInfo): void {
    if (this.backoffExpiry(qp) > this.now()) this.toBackoff(qp);
    else this.toActive(qp);
  }

  private detach(qp: QueuedPodInfo): void {
    switch (qp.state) {
      case 'active':
        this.active.remove(qp);
        break;
      case 'backoff':
        this.backoff.remove(qp);
        break;
      case 'unschedulable':
        this.unschedulable.delete(qp.key);
        break;
      default:
        break;
    }
  }

  private armBackoff(): void {
    if (this.closed) return;
    const head = this.backoff.peek();
    if (!head) return;
    const at = this.backoffExpiry(head);
    if (this.backoffTimer && this.backoffTimerAt <= at) return;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimerAt = at;
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.backoffTimerAt = Infinity;
      this.flushBackoffCompleted();
    }, Math.max(0, at - this.now()));
    this.backoffTimer.unref();
  }

  /** Moves pods whose backoff is over to activeQ. */
  flushBackoffCompleted(): void {
    const now = this.now();
    for (;;) {
      const head = this.backoff.peek();
      if (!head || this.backoffExpiry(head) > now) break;
      this.backoff.pop();
      this.toActive(head);
    }
    this.armBackoff();
  }
}

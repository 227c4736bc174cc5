/**
 * The scheduling framework, after upstream's pkg/scheduler/framework: the extension points a plugin
 * may implement (PreFilter, Filter, PostFilter, PreScore, Score with NormalizeScore, Bind), the
 * Status they answer with, the per-cycle state they share, and FitError, whose text is the
 * `0/3 nodes are available: ...` message users read in events and conditions.
 *
 * The hot path allocates little: a passing Filter returns `null`, failing ones usually return a
 * shared, preallocated Status, and plugins that have nothing to do for a pod return Skip from their
 * PreFilter / PreScore so their per-node work is not called at all.
 */
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';

export const MAX_NODE_SCORE = 100;

export enum Code {
  Success = 0,
  Error = 1,
  /** The node does not fit now; preemption may help. */
  Unschedulable = 2,
  /** The node does not fit and preemption cannot change that. */
  UnschedulableAndUnresolvable = 3,
  /** The plugin has nothing to do for this pod (from PreFilter / PreScore). */
  Skip = 5,
}

export class Status {
  /** The plugin that failed the pod; set by the framework. */
  plugin = '';

  constructor(
    readonly code: Code,
    readonly reasons: readonly string[] = [],
  ) {}

  static unschedulable(...reasons: string[]): Status {
    return new Status(Code.Unschedulable, reasons);
  }

  static unresolvable(...reasons: string[]): Status {
    return new Status(Code.UnschedulableAndUnresolvable, reasons);
  }

  static error(message: string): Status {
    return new Status(Code.Error, [message]);
  }

  isSuccess(): boolean {
    return this.code === Code.Success;
  }

  isSkip(): boolean {
    return this.code === Code.Skip;
  }

  /** Unschedulable or UnschedulableAndUnresolvable: upstream's IsRejected. */
  isRejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }

  /** The reasons joined by ", ", as upstream's Status.Message(). */
  message(): string {
    return this.reasons.join(', ');
  }

  withPlugin(plugin: string): Status {
    if (this.plugin === plugin) return this;
    const s = new Status(this.code, this.reasons);
    s.plugin = plugin;
    return s;
  }
}

export const SKIP = new Status(Code.Skip);
export const SUCCESS = new Status(Code.Success);

/** Shared failure statuses, one per (code, reason): filters answer thousands of nodes with the same few. */
const shared = new Map<string, Status>();
export function sharedStatus(code: Code, reason: string, plugin: string): Status {
  const key = `${code}\u0000${plugin}\u0000${reason}`;
  let s = shared.get(key);
  if (!s) {
    s = new Status(code, [reason]);
    s.plugin = plugin;
    shared.set(key, s);
  }
  return s;
}

/** A plugin's state for one cycle; cloned when preemption simulates removing pods from a node. */
export interface StateData {
  clone(): StateData;
}

/** What the plugins of one scheduling cycle share, by key (upstream's CycleState). */
export class CycleState {
  private readonly data = new Map<string, StateData>();
  /** Plugins whose PreFilter answered Skip: their Filter is not called this cycle. */
  readonly skipFilter = new Set<string>();
  /** Plugins whose PreScore answered Skip: their Score is not called this cycle. */
  readonly skipScore = new Set<string>();
  /** The Filters to run this cycle (those not skipped), set after PreFilter. */
  filters: readonly FilterPlugin[] | undefined;

  read<T extends StateData>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, value: StateData): void {
    this.data.set(key, value);
  }

  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v.clone());
    for (const s of this.skipFilter) c.skipFilter.add(s);
    for (const s of this.skipScore) c.skipScore.add(s);
    c.filters = this.filters;
    return c;
  }
}

/** Cluster events a plugin's rejection can be undone by (upstream's ClusterEvent, as bits). */
export const ClusterEvent = {
  NodeAdd: 1 << 0,
  NodeDelete: 1 << 1,
  NodeUpdateAllocatable: 1 << 2,
  NodeUpdateLabel: 1 << 3,
  NodeUpdateTaint: 1 << 4,
  NodeUpdateCondition: 1 << 5,
  NodeUpdateAnnotation: 1 << 6,
  AssignedPodAdd: 1 << 7,
  AssignedPodUpdate: 1 << 8,
  AssignedPodDelete: 1 << 9,
  /** Periodic flush of pods that waited too long, and other reasons to retry everything. */
  WildCard: 1 << 30,
} as const;

export const NODE_UPDATE_ALL =
  ClusterEvent.NodeUpdateAllocatable | ClusterEvent.NodeUpdateLabel | ClusterEvent.NodeUpdateTaint | ClusterEvent.NodeUpdateCondition | ClusterEvent.NodeUpdateAnnotation;
export const ASSIGNED_POD_ALL = ClusterEvent.AssignedPodAdd | ClusterEvent.AssignedPodUpdate | ClusterEvent.AssignedPodDelete;

/** What the framework lends plugins: the cluster as the cache sees it. */
export interface Handle {
  /** Every node with a Node object, in the scheduler's visiting order. */
  nodes(): readonly NodeInfo[];
  nodeInfo(name: string): NodeInfo | undefined;
  /** Nodes holding at least one pod with required pod anti-affinity. */
  nodesWithRequiredAntiAffinity(): Iterable<NodeInfo>;
  /** Nodes holding at least one pod with pod affinity or anti-affinity of any kind. */
  nodesWithAffinity(): Iterable<NodeInfo>;
  /** Pods nominated to run on `node` by preemption (not yet bound). */
  nominatedPods(node: string): Iterable<PodInfo> | undefined;
}

export interface Plugin {
  readonly name: string;
  /** The cluster events that can make a pod this plugin rejected schedulable. */
  readonly events?: number;
}

export interface PreFilterExtensions {
  /** Updates this plugin's cycle state as if `added` ran on `node` (nominated pods, preemption). */
  addPod(state: CycleState, pod: PodInfo, added: PodInfo, node: NodeInfo): void;
  removePod(state: CycleState, pod: PodInfo, removed: PodInfo, node: NodeInfo): void;
}

export interface PreFilterResult {
  /** When set, only these nodes need to be filtered (e.g. DaemonSet pods' matchFields). */
  nodeNames?: ReadonlySet<string>;
}

export interface PreFilterPlugin extends Plugin {
  /** `null` or SUCCESS to go on, SKIP to skip this plugin's Filter, a rejection to fail the pod on every node. */
  preFilter(state: CycleState, pod: PodInfo, h: Handle): Status | null | { status?: Status | null; result?: PreFilterResult };
  readonly extensions?: PreFilterExtensions;
}

export interface FilterPlugin extends Plugin {
  /** `null` when the pod fits `node`. */
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null;
}

export interface PostFilterResult {
  /** The node the pod was nominated to; '' clears a nomination. */
  nominatedNodeName: string;
}

export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: PodInfo, statuses: ReadonlyMap<string, Status>, fw: Framework): { result?: PostFilterResult; status: Status };
}

export interface PreScorePlugin extends Plugin {
  /** `null` to go on, SKIP when Score has nothing to add for this pod. */
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], h: Handle): Status | null;
}

export interface ScorePlugin extends Plugin {
  readonly weight: number;
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Rewrites `scores` (parallel to `nodes`) into 0..MAX_NODE_SCORE. */
  normalizeScore?(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array | number[]): void;
}

export interface BindPlugin extends Plugin {
  bind(pod: PodInfo, nodeName: string): Promise<void>;
}

export type AnyPlugin = Partial<PreFilterPlugin & FilterPlugin & PostFilterPlugin & PreScorePlugin & ScorePlugin & BindPlugin> & Plugin;

/**
 * Upstream's FitError: why a pod fits no node. Its text counts each reason over the nodes, sorts
 * the "<count> <reason>" strings, and appends what PostFilter (preemption) said, e.g.
 * `0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.`
 */
export class FitError {
  preFilterMsg = '';
  postFilterMsg = '';

  constructor(
    readonly numAllNodes: number,
    readonly nodeToStatus: Map<string, Status>,
    readonly unschedulablePlugins: Set<string>,
  ) {}

  message(): string {
    let msg = `0/${this.numAllNodes} nodes are available:`;
    if (this.preFilterMsg !== '') {
      msg += ` ${this.preFilterMsg}.`;
    } else {
      const histogram = reasonHistogram(this.nodeToStatus.values());
      if (histogram !== '') msg += ` ${histogram}.`;
    }
    // 1.30 appends PostFilter's message as it is (it ends a sentence already): no doubled period.
    if (this.postFilterMsg !== '') msg += ` ${this.postFilterMsg}`;
    return msg;
  }
}

/** "3 Insufficient cpu, 1 node(s) were unschedulable": counted reasons, sorted as strings. */
export function reasonHistogram(statuses: Iterable<Status>): string {
  const counts = new Map<string, number>();
  for (const s of statuses) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts: string[] = [];
  for (const [r, n] of counts) parts.push(`${n} ${r}`);
  parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return parts.join(', ');
}

/**
 * The enabled plugins of a profile, by extension point, in upstream's default order, and the calls
 * that run them.
 */
export class Framework {
  readonly preFilter: PreFilterPlugin[] = [];
  readonly filter: FilterPlugin[] = [];
  readonly postFilter: PostFilterPlugin[] = [];
  readonly preScore: PreScorePlugin[] = [];
  readonly score: ScorePlugin[] = [];
  readonly byName = new Map<string, AnyPlugin>();

  constructor(
    plugins: readonly AnyPlugin[],
    readonly handle: Handle,
  ) {
    for (const p of plugins) {
      this.byName.set(p.name, p);
      if (p.preFilter) this.preFilter.push(p as PreFilterPlugin);
      if (p.filter) this.filter.push(p as FilterPlugin);
      if (p.postFilter) this.postFilter.push(p as PostFilterPlugin);
      if (p.preScore) this.preScore.push(p as PreScorePlugin);
      if (p.score) this.score.push(p as ScorePlugin);
    }
  }

  /** The cluster events that matter to a pod rejected by `plugins`. */
  eventsFor(plugins: Iterable<string>): number {
    let mask = 0;
    for (const name of plugins) mask |= this.byName.get(name)?.events ?? 0;
    return mask;
  }

  /**
   * Runs every PreFilter. Returns a rejection (with the plugin set) or the node names to restrict
   * filtering to (undefined: all nodes).
   */
  runPreFilter(state: CycleState, pod: PodInfo): { status: Status | null; nodeNames?: ReadonlySet<string> } {
    let nodeNames: ReadonlySet<string> | undefined;
    for (const p of this.preFilter) {
      let out: ReturnType<PreFilterPlugin['preFilter']>;
      try {
        out = p.preFilter(state, pod, this.handle);
      } catch (err) {
        return { status: Status.error(`running PreFilter plugin "${p.name}": ${(err as Error).message}`).withPlugin(p.name) };
      }
      let status: Status | null | undefined;
      let result: PreFilterResult | undefined;
      if (out instanceof Status || out === null) status = out;
      else {
        status = out.status;
        result = out.result;
      }
      if (status && !status.isSuccess()) {
        if (status.isSkip()) {
          state.skipFilter.add(p.name);
          continue;
        }
        return { status: status.withPlugin(p.name) };
      }
      if (result?.nodeNames) {
        if (!nodeNames) nodeNames = result.nodeNames;
        else {
          const both = new Set<string>();
          for (const n of result.nodeNames) if (nodeNames.has(n)) both.add(n);
          nodeNames = both;
        }
      }
    }
    state.filters = state.skipFilter.size === 0 ? this.filter : this.filter.filter((p) => !state.skipFilter.has(p.name));
    return { status: null, nodeNames };
  }

  /**
   * Runs the Filters for one node, as upstream's RunFilterPluginsWithNominatedPods: pods nominated
   * to the node with at least this pod's priority are counted as running there (the room preemption
   * made is theirs); if the pod fits with them, it must also fit without them (pod affinity may
   * depend on pods that end up elsewhere).
   */
  runFilterWithNominatedPods(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const nominated = this.handle.nominatedPods(node.name);
    if (nominated) {
      let withNominated: NodeInfo | undefined;
      let stateWith: CycleState | undefined;
      for (const np of nominated) {
        if (np.priority < pod.priority || np.uid === pod.uid) continue;
        if (!withNominated) {
          withNominated = node.clone();
          stateWith = state.clone();
        }
        withNominated.addPod(np);
        this.runAddPod(stateWith!, pod, np, withNominated);
      }
      if (withNominated) {
        const s = this.runFilter(stateWith!, pod, withNominated);
        if (s !== null) return s;
      }
    }
    return this.runFilter(state, pod, node);
  }

  /** Runs the Filters for one node, stopping at the first that rejects it, as upstream does. */
  runFilter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const filters = state.filters ?? this.filter;
    for (let i = 0; i < filters.length; i++) {
      const p = filters[i];
      const s = p.filter(state, pod, node);
      if (s !== null) return s.plugin === p.name ? s : s.withPlugin(p.name);
    }
    return null;
  }

  runAddPod(state: CycleState, pod: PodInfo, added: PodInfo, node: NodeInfo): void {
    for (const p of this.preFilter) if (p.extensions && !state.skipFilter.has(p.name)) p.extensions.addPod(state, pod, added, node);
  }

  runRemovePod(state: CycleState, pod: PodInfo, removed: PodInfo, node: NodeInfo): void {
    for (const p of this.preFilter) if (p.extensions && !state.skipFilter.has(p.name)) p.extensions.removePod(state, pod, removed, node);
  }

  /** Runs PostFilter plugins until one succeeds or answers UnschedulableAndUnresolvable. */
  runPostFilter(state: CycleState, pod: PodInfo, statuses: ReadonlyMap<string, Status>): { result?: PostFilterResult; status: Status } {
    let result: PostFilterResult | undefined;
    const reasons: string[] = [];
    for (const p of this.postFilter) {
      const out = p.postFilter(state, pod, statuses, this);
      if (out.status.isSuccess()) return out;
      if (out.status.code === Code.UnschedulableAndUnresolvable) return { result: out.result, status: out.status.withPlugin(p.name) };
      if (!out.status.isRejected()) return { status: out.status.withPlugin(p.name) };
      if (out.result) result = out.result;
      reasons.push(...out.status.reasons);
    }
    return { result, status: new Status(Code.Unschedulable, reasons) };
  }

  /** Runs every PreScore; plugins answering Skip are left out of scoring. */
  runPreScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | null {
    for (const p of this.preScore) {
      const s = p.preScore(state, pod, nodes, this.handle);
      if (s === null || s.isSuccess()) continue;
      if (s.isSkip()) {
        state.skipScore.add(p.name);
        continue;
      }
      return s.withPlugin(p.name);
    }
    return null;
  }

  /**
   * Scores `nodes`: each plugin's raw scores, normalized, times its weight, summed into `totals`
   * (parallel to `nodes`).
   */
  runScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], totals: Float64Array, scratch: Float64Array): void {
    const n = nodes.length;
    totals.fill(0, 0, n);
    for (const p of this.score) {
      if (state.skipScore.has(p.name)) continue;
      const scores = scratch.subarray(0, n);
      for (let i = 0; i < n; i++) scores[i] = p.score(state, pod, nodes[i]);
      p.normalizeScore?.(state, pod, nodes, scores);
      const w = p.weight;
      for (let i = 0; i < n; i++) totals[i] += scores[i] * w;
    }
  }
}

/**
 * Upstream's DefaultNormalizeScore: scales scores so the highest becomes `max` (or, reversed, the
 * lowest does), in integers.
 */
export function defaultNormalizeScore(max: number, reverse: boolean, scores: Float64Array | number[]): void {
  let highest = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > highest) highest = scores[i];
  if (highest === 0) {
    if (reverse) for (let i = 0; i < scores.length; i++) scores[i] = max;
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc((max * scores[i]) / highest);
    if (reverse) s = max - s;
    scores[i] = s;
  }
}

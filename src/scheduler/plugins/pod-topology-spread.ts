/**
 * PodTopologySpread, after upstream's plugin:
 *
 * - Filter (whenUnsatisfiable: DoNotSchedule): placing the pod in a domain may not make that
 *   domain's count of matching pods exceed the smallest domain's count by more than maxSkew. The
 *   domains are the topology values of the nodes that count: nodes carrying every constraint's
 *   topology key, matching the pod's node selection (nodeAffinityPolicy: Honor, the default) and,
 *   with nodeTaintsPolicy: Honor, whose taints the pod tolerates. With fewer than minDomains
 *   domains the smallest count is taken as 0. Terminating pods and other namespaces do not count.
 * - Score (whenUnsatisfiable: ScheduleAnyway): fewer matching pods in a node's domains scores higher.
 */
import { ASSIGNED_POD_ALL, ClusterEvent, Code, MAX_NODE_SCORE, SKIP, Status, sharedStatus, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type StateData } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { LABEL_HOSTNAME, type PodInfo, type SpreadConstraint } from '../pod-info.js';
import { findUntoleratedTaint } from '../../api/taints.js';

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = "node(s) didn't match pod topology spread constraints (missing required label)";

const PRE_FILTER_KEY = 'PreFilterPodTopologySpread';
const PRE_SCORE_KEY = 'PreScorePodTopologySpread';

const hasOwn = Object.prototype.hasOwnProperty;

function hasAllKeys(node: NodeInfo, constraints: readonly SpreadConstraint[]): boolean {
  for (const c of constraints) if (!hasOwn.call(node.labels, c.topologyKey)) return false;
  return true;
}

/** Whether `node` counts for constraint `c` under its node inclusion policies. */
function nodeCounts(c: SpreadConstraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.honorNodeAffinity && pod.requiredNodeAffinity && !pod.requiredNodeAffinity(node.labels, node.name)) return false;
  if (c.honorNodeTaints && findUntoleratedTaint(node.filterTaints, pod.tolerations)) return false;
  return true;
}

/** Pods on the node in `namespace`, not terminating, that `c` selects. */
export function countMatching(node: NodeInfo, c: SpreadConstraint, namespace: string): number {
  let n = 0;
  const pods = node.pods;
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i];
    if (p.terminating || p.namespace !== namespace) continue;
    if (c.selector.matches(p.labels)) n++;
  }
  return n;
}

class PreFilterState implements StateData {
  /** Per constraint: topology value → matching pods, for every domain that counts. */
  private mins: number[] | null = null;

  constructor(
    readonly constraints: readonly SpreadConstraint[],
    readonly counts: Map<string, number>[],
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(
      this.constraints,
      this.counts.map((m) => new Map(m)),
    );
  }

  /** The smallest domain count for constraint `i` (MAX when there is no domain), with minDomains applied. */
  minMatch(i: number): number {
    if (!this.mins) {
      this.mins = this.counts.map((m) => {
        let min = 2 ** 31 - 1;
        for (const v of m.values()) if (v < min) min = v;
        return min;
      });
    }
    if (this.counts[i].size < this.constraints[i].minDomains) return 0;
    return this.mins[i];
  }

  update(pod: PodInfo, other: PodInfo, node: NodeInfo, delta: number): void {
    if (other.namespace !== pod.namespace || !hasAllKeys(node, this.constraints)) return;
    this.constraints.forEach((c, i) => {
      if (!nodeCounts(c, pod, node) || !c.selector.matches(other.labels)) return;
      const v = node.labels[c.topologyKey];
      this.counts[i].set(v, (this.counts[i].get(v) ?? 0) + delta);
    });
    this.mins = null;
  }
}

class PreScoreState implements StateData {
  constructor(
    readonly constraints: readonly SpreadConstraint[],
    readonly ignored: ReadonlySet<string>,
    /** `key\0value` → matching pods, for domains of the candidate nodes (not hostname). */
    readonly pairCounts: Map<string, number>,
    readonly weights: readonly number[],
  ) {}

  clone(): StateData {
    return this;
  }
}

function pairKey(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

export function newPodTopologySpread(weight = 2): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  return {
    name: POD_TOPOLOGY_SPREAD,
    weight,
    events: ASSIGNED_POD_ALL | ClusterEvent.NodeAdd | ClusterEvent.NodeDelete | ClusterEvent.NodeUpdateLabel | ClusterEvent.NodeUpdateTaint,

    preFilter(state: CycleState, pod: PodInfo, h: Handle) {
      if (pod.spreadError) return Status.error(`parsing topology spread constraints: ${pod.spreadError}`);
      const constraints = (pod.spreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
      if (constraints.length === 0) return SKIP;
      const counts = constraints.map(() => new Map<string, number>());
      for (const node of h.nodes()) {
        if (!hasAllKeys(node, constraints)) continue;
        constraints.forEach((c, i) => {
          if (!nodeCounts(c, pod, node)) return;
          const v = node.labels[c.topologyKey];
          counts[i].set(v, (counts[i].get(v) ?? 0) + countMatching(node, c, pod.namespace));
        });
      }
      state.write(PRE_FILTER_KEY, new PreFilterState(constraints, counts));
      return null;
    },

    extensions: {
      addPod(state, pod, added, node) {
        state.read<PreFilterState>(PRE_FILTER_KEY)?.update(pod, added, node, 1);
      },
      removePod(state, pod, removed, node) {
        state.read<PreFilterState>(PRE_FILTER_KEY)?.update(pod, removed, node, -1);
      },
    },

    filter(state, pod, node) {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (!s) return null;
      for (let i = 0; i < s.constraints.length; i++) {
        const c = s.constraints[i];
        if (!hasOwn.call(node.labels, c.topologyKey)) {
          return sharedStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_NODE_LABEL_NOT_MATCH, POD_TOPOLOGY_SPREAD);
        }
        const self = c.selector.matches(pod.labels) ? 1 : 0;
        const matching = s.counts[i].get(node.labels[c.topologyKey]) ?? 0;
        if (matching + self - s.minMatch(i) > c.maxSkew) {
          return sharedStatus(Code.Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH, POD_TOPOLOGY_SPREAD);
        }
      }
      return null;
    },

    preScore(state, pod, nodes, h) {
      const constraints = (pod.spreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
      if (constraints.length === 0 || nodes.length === 0) return SKIP;
      const ignored = new Set<string>();
      const pairCounts = new Map<string, number>();
      const sizes = constraints.map(() => 0);
      for (const node of nodes) {
        if (!hasAllKeys(node, constraints)) {
          ignored.add(node.name);
          continue;
        }
        constraints.forEach((c, i) => {
          if (c.topologyKey === LABEL_HOSTNAME) return;
          const k = pairKey(c.topologyKey, node.labels[c.topologyKey]);
          if (!pairCounts.has(k)) {
            pairCounts.set(k, 0);
            sizes[i]++;
          }
        });
      }
      const weights = constraints.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? nodes.length - ignored.size : sizes[i]) + 2));
      for (const node of h.nodes()) {
        if (!hasAllKeys(node, constraints)) continue;
        for (const c of constraints) {
          if (!nodeCounts(c, pod, node)) continue;
          const k = pairKey(c.topologyKey, node.labels[c.topologyKey]);
          const cur = pairCounts.get(k);
          // Only domains of candidate nodes matter; hostname counts are taken per node in Score.
          if (cur === undefined) continue;
          pairCounts.set(k, cur + countMatching(node, c, pod.namespace));
        }
      }
      state.write(PRE_SCORE_KEY, new PreScoreState(constraints, ignored, pairCounts, weights));
      return null;
    },

    score(state, pod, node) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s || s.ignored.has(node.name)) return 0;
      let score = 0;
      s.constraints.forEach((c, i) => {
        if (!hasOwn.call(node.labels, c.topologyKey)) return;
        const cnt = c.topologyKey === LABEL_HOSTNAME ? countMatching(node, c, pod.namespace) : (s.pairCounts.get(pairKey(c.topologyKey, node.labels[c.topologyKey])) ?? 0);
        score += cnt * s.weights[i] + (c.maxSkew - 1);
      });
      return Math.round(score);
    },

    normalizeScore(state, _pod, nodes, scores) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s) return;
      let min = Infinity;
      let max = 0;
      for (let i = 0; i < scores.length; i++) {
        if (s.ignored.has(nodes[i].name)) continue;
        if (scores[i] < min) min = scores[i];
        if (scores[i] > max) max = scores[i];
      }
      for (let i = 0; i < scores.length; i++) {
        if (s.ignored.has(nodes[i].name)) scores[i] = 0;
        else if (max === 0) scores[i] = MAX_NODE_SCORE;
        else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
      }
    },
  };
}

/**
 * InterPodAffinity, after upstream's plugin. Counts are kept per topology pair (key, value):
 *
 * - required affinity: some pod matching every term must run in the node's domain of each term's
 *   topologyKey — except for the first pod of a group that matches its own terms, when no pod
 *   anywhere matches yet;
 * - required anti-affinity: no pod matching a term may run in the node's domain;
 * - existing pods' required anti-affinity: the pod may not go where a running pod's term selects it;
 * - scoring: preferred terms of the pod and of running pods (and running pods' required affinity,
 *   with weight 1) add or subtract their weights across the matching domains, normalized to 0..100.
 */
import { ASSIGNED_POD_ALL, ClusterEvent, Code, MAX_NODE_SCORE, SKIP, Status, sharedStatus, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type StateData } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { matchesAllTerms, termMatches, type AffinityTerm, type NamespaceLabels, type PodInfo, type WeightedAffinityTerm } from '../pod-info.js';

export const INTER_POD_AFFINITY = 'InterPodAffinity';
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";

const PRE_FILTER_KEY = 'PreFilterInterPodAffinity';
const PRE_SCORE_KEY = 'PreScoreInterPodAffinity';
/** Upstream's default hardPodAffinityWeight. */
const HARD_POD_AFFINITY_WEIGHT = 1;

const hasOwn = Object.prototype.hasOwnProperty;

type Counts = Map<string, number>;

function pair(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

function bump(m: Counts, node: NodeInfo, key: string, delta: number): void {
  if (!hasOwn.call(node.labels, key)) return;
  const k = pair(key, node.labels[key]);
  const v = (m.get(k) ?? 0) + delta;
  if (v === 0) m.delete(k);
  else m.set(k, v);
}

class PreFilterState implements StateData {
  constructor(
    readonly existingAntiAffinity: Counts,
    readonly affinity: Counts,
    readonly antiAffinity: Counts,
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(new Map(this.existingAntiAffinity), new Map(this.affinity), new Map(this.antiAffinity));
  }
}

/** `nsLabels` gives a namespace's labels, for terms with a namespaceSelector. */
export function newInterPodAffinity(weight = 2, nsLabels: NamespaceLabels = () => undefined): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  /** Counts what `other` on `node` contributes to the incoming pod's state, times `delta`. */
  function account(s: PreFilterState, pod: PodInfo, other: PodInfo, node: NodeInfo, delta: number): void {
    for (const t of other.requiredAntiAffinityTerms ?? []) if (termMatches(t, pod, nsLabels)) bump(s.existingAntiAffinity, node, t.topologyKey, delta);
    const aff = pod.requiredAffinityTerms;
    if (aff && matchesAllTerms(aff, other, nsLabels)) for (const t of aff) bump(s.affinity, node, t.topologyKey, delta);
    for (const t of pod.requiredAntiAffinityTerms ?? []) if (termMatches(t, other, nsLabels)) bump(s.antiAffinity, node, t.topologyKey, delta);
  }

  function satisfiesAffinity(s: PreFilterState, pod: PodInfo, node: NodeInfo): boolean {
    const terms = pod.requiredAffinityTerms;
    if (!terms) return true;
    let podsExist = true;
    for (const t of terms) {
      if (!hasOwn.call(node.labels, t.topologyKey)) return false;
      if ((s.affinity.get(pair(t.topologyKey, node.labels[t.topologyKey])) ?? 0) <= 0) podsExist = false;
    }
    if (podsExist) return true;
    // The first pod of a group with affinity to itself: nothing matches anywhere yet.
    return s.affinity.size === 0 && matchesAllTerms(terms, pod, nsLabels);
  }

  function satisfiesAntiAffinity(s: PreFilterState, pod: PodInfo, node: NodeInfo): boolean {
    if (s.antiAffinity.size === 0) return true;
    for (const t of pod.requiredAntiAffinityTerms ?? []) {
      if (!hasOwn.call(node.labels, t.topologyKey)) continue;
      if ((s.antiAffinity.get(pair(t.topologyKey, node.labels[t.topologyKey])) ?? 0) > 0) return false;
    }
    return true;
  }

  function satisfiesExistingAntiAffinity(s: PreFilterState, node: NodeInfo): boolean {
    if (s.existingAntiAffinity.size === 0) return true;
    for (const k in node.labels) if ((s.existingAntiAffinity.get(pair(k, node.labels[k])) ?? 0) > 0) return false;
    return true;
  }

  return {
    name: INTER_POD_AFFINITY,
    weight,
    events: ASSIGNED_POD_ALL | ClusterEvent.NodeAdd | ClusterEvent.NodeUpdateLabel,

    preFilter(state: CycleState, pod: PodInfo, h: Handle) {
      if (pod.affinityError) return Status.unresolvable(`parsing pod: ${pod.affinityError}`);
      const s = new PreFilterState(new Map(), new Map(), new Map());
      for (const node of h.nodesWithRequiredAntiAffinity()) {
        if (!node.node) continue;
        for (const other of node.pods) {
          for (const t of other.requiredAntiAffinityTerms ?? []) if (termMatches(t, pod, nsLabels)) bump(s.existingAntiAffinity, node, t.topologyKey, 1);
        }
      }
      const aff = pod.requiredAffinityTerms;
      const anti = pod.requiredAntiAffinityTerms;
      if (aff || anti) {
        for (const node of h.nodes()) {
          for (const other of node.pods) {
            if (aff && matchesAllTerms(aff, other, nsLabels)) for (const t of aff) bump(s.affinity, node, t.topologyKey, 1);
            if (anti) for (const t of anti) if (termMatches(t, other, nsLabels)) bump(s.antiAffinity, node, t.topologyKey, 1);
          }
        }
      }
      if (s.existingAntiAffinity.size === 0 && !aff && !anti) return SKIP;
      state.write(PRE_FILTER_KEY, s);
      return null;
    },

    extensions: {
      addPod(state, pod, added, node) {
        const s = state.read<PreFilterState>(PRE_FILTER_KEY);
        if (s) account(s, pod, added, node, 1);
      },
      removePod(state, pod, removed, node) {
        const s = state.read<PreFilterState>(PRE_FILTER_KEY);
        if (s) account(s, pod, removed, node, -1);
      },
    },

    filter(state, pod, node) {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (!s) return null;
      if (!satisfiesAffinity(s, pod, node)) return sharedStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_AFFINITY, INTER_POD_AFFINITY);
      if (!satisfiesAntiAffinity(s, pod, node)) return sharedStatus(Code.Unschedulable, ERR_REASON_ANTI_AFFINITY, INTER_POD_AFFINITY);
      if (!satisfiesExistingAntiAffinity(s, node)) return sharedStatus(Code.Unschedulable, ERR_REASON_EXISTING_ANTI_AFFINITY, INTER_POD_AFFINITY);
      return null;
    },

    preScore(state, pod, nodes, h) {
      if (nodes.length === 0) return SKIP;
      const hasConstraints = Boolean(pod.preferredAffinityTerms || pod.preferredAntiAffinityTerms);
      const scores = new Map<string, Map<string, number>>();
      const add = (node: NodeInfo, key: string, w: number) => {
        if (!hasOwn.call(node.labels, key) || w === 0) return;
        let m = scores.get(key);
        if (!m) scores.set(key, (m = new Map()));
        const v = node.labels[key];
        m.set(v, (m.get(v) ?? 0) + w);
      };
      const terms = (list: readonly WeightedAffinityTerm[] | null, target: PodInfo, node: NodeInfo, sign: number) => {
        for (const t of list ?? []) if (termMatches(t, target, nsLabels)) add(node, t.topologyKey, t.weight * sign);
      };
      const hard = (list: readonly AffinityTerm[] | null, node: NodeInfo) => {
        for (const t of list ?? []) if (termMatches(t, pod, nsLabels)) add(node, t.topologyKey, HARD_POD_AFFINITY_WEIGHT);
      };
      const sources: Iterable<NodeInfo> = hasConstraints ? h.nodes() : h.nodesWithAffinity();
      for (const node of sources) {
        if (!node.node) continue;
        for (const other of node.pods) {
          if (!hasConstraints && !other.hasAffinity) continue;
          terms(pod.preferredAffinityTerms, other, node, 1);
          terms(pod.preferredAntiAffinityTerms, other, node, -1);
          hard(other.requiredAffinityTerms, node);
          terms(other.preferredAffinityTerms, pod, node, 1);
          terms(other.preferredAntiAffinityTerms, pod, node, -1);
        }
      }
      if (scores.size === 0) return SKIP;
      state.write(PRE_SCORE_KEY, { scores, clone() { return this; } } as StateData);
      return null;
    },

    score(state, _pod, node) {
      const s = state.read<StateData & { scores: Map<string, Map<string, number>> }>(PRE_SCORE_KEY);
      if (!s) return 0;
      let score = 0;
      for (const [key, values] of s.scores) if (hasOwn.call(node.labels, key)) score += values.get(node.labels[key]) ?? 0;
      return score;
    },

    normalizeScore(_state, _pod, _nodes, scores) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < scores.length; i++) {
        if (scores[i] > max) max = scores[i];
        if (scores[i] < min) min = scores[i];
      }
      const diff = max - min;
      for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i] - min) / diff)) : 0;
    },
  };
}

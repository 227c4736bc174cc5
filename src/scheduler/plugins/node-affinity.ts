/**
 * NodeAffinity: `spec.nodeSelector` and required node affinity filter nodes; preferred node
 * affinity terms add their weights to the nodes they match. Pods pinned to nodes by
 * `matchFields: metadata.name` (DaemonSet pods) are only filtered against those nodes.
 */
import { ClusterEvent, Code, MAX_NODE_SCORE, SKIP, Status, defaultNormalizeScore, sharedStatus, type FilterPlugin, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from '../framework.js';

export const NODE_AFFINITY = 'NodeAffinity';
export const ERR_REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const ERR_REASON_CONFLICT = 'pod affinity terms conflict';

export function newNodeAffinity(weight = 2): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  return {
    name: NODE_AFFINITY,
    weight,
    events: ClusterEvent.NodeAdd | ClusterEvent.NodeUpdateLabel,
    preFilter(_state, pod) {
      if (!pod.requiredNodeAffinity) return SKIP;
      const names = pod.requiredNodeNames;
      if (names && names.size === 0) return Status.unresolvable(ERR_REASON_CONFLICT);
      return names ? { result: { nodeNames: names } } : null;
    },
    filter(_state, pod, node) {
      const m = pod.requiredNodeAffinity;
      if (!m || m(node.labels, node.name)) return null;
      return sharedStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_NODE_AFFINITY, NODE_AFFINITY);
    },
    preScore(_state, pod) {
      return pod.preferredNodeAffinity ? null : SKIP;
    },
    score(_state, pod, node) {
      let s = 0;
      for (const t of pod.preferredNodeAffinity ?? []) if (t.matches(node.labels, node.name)) s += t.weight;
      return s;
    },
    normalizeScore(_state, _pod, _nodes, scores) {
      defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
    },
  };
}

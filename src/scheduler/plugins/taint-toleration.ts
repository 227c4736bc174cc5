/**
 * TaintToleration: a node's NoSchedule and NoExecute taints keep out pods that do not tolerate
 * them; PreferNoSchedule taints the pod does not tolerate lower the node's score.
 */
import { ClusterEvent, Code, MAX_NODE_SCORE, SKIP, Status, defaultNormalizeScore, type CycleState, type FilterPlugin, type PreScorePlugin, type ScorePlugin, type StateData } from '../framework.js';
import type { PodInfo } from '../pod-info.js';
import { findUntoleratedTaint, tolerationsTolerateTaint, type NormalToleration as Toleration } from '../../api/taints.js';

export const TAINT_TOLERATION = 'TaintToleration';

class PreScoreState implements StateData {
  constructor(readonly tolerations: readonly Toleration[]) {}
  clone(): StateData {
    return this;
  }
}

const statusByTaint = new Map<string, Status>();

/** "node(s) had untolerated taint {key: value}", shared per taint. */
export function untoleratedTaintStatus(key: string, value: string): Status {
  const text = `node(s) had untolerated taint {${key}: ${value}}`;
  let s = statusByTaint.get(text);
  if (!s) {
    s = new Status(Code.UnschedulableAndUnresolvable, [text]);
    s.plugin = TAINT_TOLERATION;
    if (statusByTaint.size < 10_000) statusByTaint.set(text, s);
  }
  return s;
}

export function newTaintToleration(weight = 3): FilterPlugin & PreScorePlugin & ScorePlugin {
  return {
    name: TAINT_TOLERATION,
    weight,
    events: ClusterEvent.NodeAdd | ClusterEvent.NodeUpdateTaint,
    filter(_state, pod, node) {
      if (node.filterTaints.length === 0) return null;
      const t = findUntoleratedTaint(node.filterTaints, pod.tolerations);
      return t ? untoleratedTaintStatus(t.key, t.value) : null;
    },
    preScore(state: CycleState, pod: PodInfo, nodes) {
      if (!nodes.some((n) => n.hasPreferNoSchedule)) return SKIP;
      state.write(TAINT_TOLERATION, new PreScoreState(pod.tolerations.filter((t) => t.effect === '' || t.effect === 'PreferNoSchedule')));
      return null;
    },
    score(state, _pod, node) {
      if (!node.hasPreferNoSchedule) return 0;
      const tols = state.read<PreScoreState>(TAINT_TOLERATION)?.tolerations ?? [];
      let n = 0;
      for (const t of node.taints) if (t.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tols, t)) n++;
      return n;
    },
    normalizeScore(_state, _pod, _nodes, scores) {
      defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
    },
  };
}

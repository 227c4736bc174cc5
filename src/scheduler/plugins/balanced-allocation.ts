/**
 * NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory would be used in equal
 * shares after placing the pod (score = (1 - standard deviation of the shares) · 100).
 */
import { MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';

export const BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

export function newBalancedAllocation(weight = 1): ScorePlugin {
  return {
    name: BALANCED_ALLOCATION,
    weight,
    score(_state, pod, node) {
      let f1 = -1;
      let f2 = -1;
      if (node.allocMilliCPU > 0) f1 = Math.min(1, (node.reqMilliCPU + pod.requests.milliCPU) / node.allocMilliCPU);
      if (node.allocMemory > 0) f2 = Math.min(1, (node.reqMemory + pod.requests.memory) / node.allocMemory);
      // With one resource (or none) there is nothing to balance.
      const std = f1 >= 0 && f2 >= 0 ? Math.abs((f1 - f2) / 2) : 0;
      return Math.trunc((1 - std) * MAX_NODE_SCORE);
    },
  };
}

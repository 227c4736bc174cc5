/**
 * NodeResourcesFit: a pod fits a node when its requests (cpu, memory, ephemeral-storage, extended
 * resources) fit in what the node's pods leave of its allocatable resources, and the node may hold
 * one more pod. Scoring is upstream's default LeastAllocated over cpu and memory (weight 1 each),
 * on requests with upstream's non-zero defaults for containers that request nothing.
 */
import { ClusterEvent, Code, MAX_NODE_SCORE, Status, sharedStatus, type FilterPlugin, type ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';

/** The reasons a pod does not fit a node's free resources, in upstream's order; empty when it fits. */
export function insufficientResources(pod: PodInfo, node: NodeInfo): string[] {
  const out: string[] = [];
  if (node.pods.length + 1 > node.allocPods) out.push('Too many pods');
  const r = pod.requests;
  if (r.milliCPU === 0 && r.memory === 0 && r.ephemeralStorage === 0 && !r.scalar) return out;
  if (r.milliCPU > 0 && r.milliCPU > node.allocMilliCPU - node.reqMilliCPU) out.push('Insufficient cpu');
  if (r.memory > 0 && r.memory > node.allocMemory - node.reqMemory) out.push('Insufficient memory');
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > node.allocEphemeral - node.reqEphemeral) out.push('Insufficient ephemeral-storage');
  if (r.scalar) {
    for (const [name, v] of r.scalar) {
      if (v > (node.allocScalar?.get(name) ?? 0) - (node.reqScalar?.get(name) ?? 0)) out.push(`Insufficient ${name}`);
    }
  }
  return out;
}

/** ((capacity - requested) * 100) / capacity, in integers; 0 when over capacity. */
function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

export function newNodeResourcesFit(weight = 1): FilterPlugin & ScorePlugin {
  return {
    name: NODE_RESOURCES_FIT,
    weight,
    events: ClusterEvent.AssignedPodDelete | ClusterEvent.NodeAdd | ClusterEvent.NodeUpdateAllocatable,
    filter(_state, pod, node) {
      // The common case answers without allocating.
      const r = pod.requests;
      if (
        node.pods.length < node.allocPods &&
        r.milliCPU <= node.allocMilliCPU - node.reqMilliCPU &&
        r.memory <= node.allocMemory - node.reqMemory &&
        r.ephemeralStorage <= node.allocEphemeral - node.reqEphemeral &&
        !r.scalar
      ) {
        return null;
      }
      const reasons = insufficientResources(pod, node);
      if (reasons.length === 0) return null;
      return reasons.length === 1 ? sharedStatus(Code.Unschedulable, reasons[0], NODE_RESOURCES_FIT) : new Status(Code.Unschedulable, reasons);
    },
    score(_state, pod, node) {
      let sum = 0;
      let weights = 0;
      if (node.allocMilliCPU > 0) {
        sum += leastRequested(node.nonZeroMilliCPU + pod.nonZeroCPU, node.allocMilliCPU);
        weights++;
      }
      if (node.allocMemory > 0) {
        sum += leastRequested(node.nonZeroMemory + pod.nonZeroMemory, node.allocMemory);
        weights++;
      }
      return weights === 0 ? 0 : Math.trunc(sum / weights);
    },
  };
}

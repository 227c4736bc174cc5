/**
 * Upstream's AdmissionCheck plus its NoSchedule-taint check (preCheckForNode): whether a pod would
 * pass the node-local checks on one node. With queueing hints off, as in 1.30's defaults, a node
 * that is added or changes only brings back the unschedulable pods it could take, so a pod waiting
 * for a GPU node is not retried (and reported again) for every other node that joins.
 */
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';
import { insufficientResources } from './plugins/node-resources-fit.js';
import { tolerationsTolerateTaint } from '../api/taints.js';

export function nodeAdmits(pod: PodInfo, node: NodeInfo): boolean {
  if (!node.node) return false;
  if (insufficientResources(pod, node).length > 0) return false;
  if (pod.requiredNodeAffinity && !pod.requiredNodeAffinity(node.labels, node.name)) return false;
  if (pod.nodeName !== '' && pod.nodeName !== node.name) return false;
  for (const hp of pod.hostPorts ?? []) if (node.portConflicts(hp)) return false;
  for (const t of node.taints) if (t.effect === 'NoSchedule' && !tolerationsTolerateTaint(pod.tolerations, t)) return false;
  return true;
}

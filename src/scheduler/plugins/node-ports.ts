/**
 * NodePorts: a pod asking for host ports fits only nodes where no pod holds them already.
 */
import { ClusterEvent, Code, SKIP, sharedStatus, type FilterPlugin, type PreFilterPlugin } from '../framework.js';

export const NODE_PORTS = 'NodePorts';
export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

export const nodePorts: PreFilterPlugin & FilterPlugin = {
  name: NODE_PORTS,
  events: ClusterEvent.AssignedPodDelete | ClusterEvent.NodeAdd,
  preFilter(_state, pod) {
    return pod.hostPorts ? null : SKIP;
  },
  filter(_state, pod, node) {
    for (const hp of pod.hostPorts ?? []) {
      if (node.portConflicts(hp)) return sharedStatus(Code.Unschedulable, ERR_REASON_NODE_PORTS, NODE_PORTS);
    }
    return null;
  },
};

/**
 * NodeName: a pod that names its node fits only that node.
 */
import { ClusterEvent, Code, sharedStatus, type FilterPlugin } from '../framework.js';

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export const nodeName: FilterPlugin = {
  name: NODE_NAME,
  events: ClusterEvent.NodeAdd,
  filter(_state, pod, node) {
    if (pod.nodeName === '' || pod.nodeName === node.name) return null;
    return sharedStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_NODE_NAME, NODE_NAME);
  },
};

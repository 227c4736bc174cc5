/**
 * NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods that tolerate the
 * `node.kubernetes.io/unschedulable:NoSchedule` taint.
 */
import { ClusterEvent, Code, sharedStatus, type FilterPlugin } from '../framework.js';
import { tolerationsTolerateTaint, type Taint } from '../../api/taints.js';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' };

export const nodeUnschedulable: FilterPlugin = {
  name: NODE_UNSCHEDULABLE,
  // A change of spec.unschedulable counts as a taint change, as upstream.
  events: ClusterEvent.NodeAdd | ClusterEvent.NodeUpdateTaint,
  filter(_state, pod, node) {
    if (!node.unschedulable || tolerationsTolerateTaint(pod.tolerations, UNSCHEDULABLE_TAINT)) return null;
    return sharedStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_UNSCHEDULABLE, NODE_UNSCHEDULABLE);
  },
};

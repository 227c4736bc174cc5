/**
 * The default profile: upstream's default plugins, in its order (which decides the order Filters
 * run and so which reason a node is reported with), with its score weights.
 */
import type { Client } from '../../client/interface.js';
import type { AnyPlugin } from '../framework.js';
import type { NamespaceLabels } from '../pod-info.js';
import { newBalancedAllocation } from './balanced-allocation.js';
import { newDefaultBinder } from './default-binder.js';
import { newDefaultPreemption, type DefaultPreemptionOptions } from './default-preemption.js';
import { newInterPodAffinity } from './inter-pod-affinity.js';
import { newNodeAffinity } from './node-affinity.js';
import { nodeName } from './node-name.js';
import { nodePorts } from './node-ports.js';
import { newNodeResourcesFit } from './node-resources-fit.js';
import { nodeUnschedulable } from './node-unschedulable.js';
import { newPodTopologySpread } from './pod-topology-spread.js';
import { newTaintToleration } from './taint-toleration.js';

export interface DefaultPluginsOptions {
  client: Client;
  preemption: DefaultPreemptionOptions;
  namespaceLabels?: NamespaceLabels;
}

export function defaultPlugins(o: DefaultPluginsOptions): AnyPlugin[] {
  return [
    nodeUnschedulable,
    nodeName,
    newTaintToleration(3),
    newNodeAffinity(2),
    nodePorts,
    newNodeResourcesFit(1),
    newPodTopologySpread(2),
    newInterPodAffinity(2, o.namespaceLabels),
    newDefaultPreemption(o.preemption),
    newBalancedAllocation(1),
    newDefaultBinder(o.client),
  ];
}

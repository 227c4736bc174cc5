/**
 * Plain Node and Pod objects and a small cluster (a cache and a nominator behind a Handle) for the
 * scheduler's unit tests, so plugins are exercised on the same objects the API serves.
 */
import type { KubeObject } from '../api/types.js';
import { SchedulerCache } from './cache.js';
import type { Handle } from './framework.js';
import type { NodeInfo } from './node-info.js';
import { newPodInfo, type PodInfo } from './pod-info.js';
import { Nominator } from './queue.js';

export interface NodeSpec {
  cpu?: string;
  memory?: string;
  pods?: number;
  ephemeralStorage?: string;
  extended?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
}

export function makeNode(name: string, s: NodeSpec = {}): KubeObject {
  const allocatable: Record<string, string> = { cpu: s.cpu ?? '4', memory: s.memory ?? '16Gi', pods: String(s.pods ?? 110), ...(s.extended ?? {}) };
  if (s.ephemeralStorage) allocatable['ephemeral-storage'] = s.ephemeralStorage;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(s.labels ?? {}) } },
    spec: { ...(s.taints ? { taints: s.taints } : {}), ...(s.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export interface PodSpecOptions {
  namespace?: string;
  uid?: string;
  cpu?: string;
  memory?: string;
  requests?: Record<string, string>;
  labels?: Record<string, string>;
  priority?: number;
  preemptionPolicy?: string;
  nodeName?: string;
  tolerations?: unknown[];
  nodeSelector?: Record<string, string>;
  affinity?: unknown;
  topologySpreadConstraints?: unknown[];
  hostPorts?: number[];
  startTime?: string;
  deletionTimestamp?: string;
  conditions?: unknown[];
  extraSpec?: Record<string, unknown>;
}

let uidSeq = 0;

export function makePod(name: string, o: PodSpecOptions = {}): KubeObject {
  const requests: Record<string, string> = { ...(o.requests ?? {}) };
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  const container: Record<string, unknown> = { name: 'c', image: 'pause' };
  if (Object.keys(requests).length > 0) container.resources = { requests };
  if (o.hostPorts) container.ports = o.hostPorts.map((p) => ({ containerPort: p, hostPort: p, protocol: 'TCP' }));
  const spec: Record<string, unknown> = { containers: [container], schedulerName: 'default-scheduler', ...(o.extraSpec ?? {}) };
  if (o.priority !== undefined) spec.priority = o.priority;
  if (o.preemptionPolicy) spec.preemptionPolicy = o.preemptionPolicy;
  if (o.nodeName) spec.nodeName = o.nodeName;
  if (o.tolerations) spec.tolerations = o.tolerations;
  if (o.nodeSelector) spec.nodeSelector = o.nodeSelector;
  if (o.affinity) spec.affinity = o.affinity;
  if (o.topologySpreadConstraints) spec.topologySpreadConstraints = o.topologySpreadConstraints;
  const status: Record<string, unknown> = { phase: o.nodeName ? 'Running' : 'Pending' };
  if (o.startTime) status.startTime = o.startTime;
  if (o.conditions) status.conditions = o.conditions;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: o.uid ?? `uid-${name}-${uidSeq++}`,
      labels: o.labels ?? {},
      ...(o.deletionTimestamp ? { deletionTimestamp: o.deletionTimestamp } : {}),
    },
    spec,
    status,
  };
}

/** A cache of nodes and bound pods, with a nominator, lent to plugins as a Handle. */
export class TestCluster {
  readonly cache = new SchedulerCache();
  readonly nominator = new Nominator();
  readonly handle: Handle = {
    nodes: () => this.cache.nodes(),
    nodeInfo: (n) => this.cache.nodeInfo(n),
    nodesWithAffinity: () => this.cache.nodesWithAffinity(),
    nodesWithRequiredAntiAffinity: () => this.cache.nodesWithRequiredAntiAffinity(),
    nominatedPods: (n) => this.nominator.podsOn(n),
  };

  addNode(name: string, s: NodeSpec = {}): NodeInfo {
    return this.cache.setNode(makeNode(name, s));
  }

  /** Binds a pod (made with makePod) to `node`. */
  addPod(node: string, name: string, o: PodSpecOptions = {}): PodInfo {
    const info = newPodInfo(makePod(name, { ...o, nodeName: node }));
    this.cache.addPod(info);
    return info;
  }

  node(name: string): NodeInfo {
    const n = this.cache.nodeInfo(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }
}

/** A pending pod's PodInfo. */
export function pending(name: string, o: PodSpecOptions = {}): PodInfo {
  return newPodInfo(makePod(name, o));
}

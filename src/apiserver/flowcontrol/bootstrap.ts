/**
 * The mandatory and suggested configuration of API Priority and Fairness, after upstream's
 * apis/flowcontrol/bootstrap: its priority levels (with their nominal concurrency shares and queue
 * shapes) and its flow schemas in matching precedence. skiff does not serve the FlowSchema and
 * PriorityLevelConfiguration objects; the configuration is fixed, and classifying a request is a
 * few comparisons on the user and its RequestInfo.
 */
import type { UserInfo } from '../auth/user.js';
import type { RequestInfo } from '../request-info.js';

export interface PriorityLevelSpec {
  name: string;
  /** Exempt levels are never limited (upstream's type Exempt). */
  exempt?: boolean;
  nominalConcurrencyShares: number;
  /** 0 queues: a request over the limit is rejected at once (upstream's limitResponse Reject). */
  queues: number;
  handSize: number;
  queueLengthLimit: number;
}

/** Upstream's bootstrap priority levels (v1.32). */
export const PRIORITY_LEVELS: readonly PriorityLevelSpec[] = [
  { name: 'exempt', exempt: true, nominalConcurrencyShares: 0, queues: 0, handSize: 0, queueLengthLimit: 0 },
  { name: 'system', nominalConcurrencyShares: 30, queues: 64, handSize: 6, queueLengthLimit: 50 },
  { name: 'node-high', nominalConcurrencyShares: 40, queues: 64, handSize: 6, queueLengthLimit: 50 },
  { name: 'leader-election', nominalConcurrencyShares: 10, queues: 16, handSize: 4, queueLengthLimit: 50 },
  { name: 'workload-high', nominalConcurrencyShares: 40, queues: 128, handSize: 6, queueLengthLimit: 50 },
  { name: 'workload-low', nominalConcurrencyShares: 100, queues: 128, handSize: 6, queueLengthLimit: 50 },
  { name: 'global-default', nominalConcurrencyShares: 20, queues: 128, handSize: 6, queueLengthLimit: 50 },
  { name: 'catch-all', nominalConcurrencyShares: 5, queues: 0, handSize: 0, queueLengthLimit: 0 },
];

export type FlowDistinguisher = 'ByUser' | 'ByNamespace' | undefined;

export interface FlowSchemaSpec {
  name: string;
  priorityLevel: string;
  distinguisher: FlowDistinguisher;
  matches(user: UserInfo, info: RequestInfo): boolean;
}

const MASTERS = 'system:masters';
const NODES = 'system:nodes';
const SERVICE_ACCOUNTS = 'system:serviceaccounts';
const KUBE_SYSTEM_SERVICE_ACCOUNTS = 'system:serviceaccounts:kube-system';
const CONTROLLER_MANAGER = 'system:kube-controller-manager';
const SCHEDULER = 'system:kube-scheduler';
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/livez']);
const LEADER_ELECTION_VERBS = new Set(['get', 'create', 'update']);

const inGroup = (u: UserInfo, g: string) => u.groups.includes(g);
const isLeaderElectionRequest = (i: RequestInfo) =>
  i.isResourceRequest &&
  LEADER_ELECTION_VERBS.has(i.verb) &&
  ((i.group === 'coordination.k8s.io' && i.resource === 'leases') || (i.group === '' && (i.resource === 'endpoints' || i.resource === 'configmaps'))) &&
  i.namespace === 'kube-system';
const isEndpointsWrite = (i: RequestInfo) =>
  i.isResourceRequest && LEADER_ELECTION_VERBS.has(i.verb) && ((i.group === '' && i.resource === 'endpoints') || (i.group === 'discovery.k8s.io' && i.resource === 'endpointslices'));

/** Upstream's bootstrap flow schemas in matching precedence (lowest first), the first match wins. */
export const FLOW_SCHEMAS: readonly FlowSchemaSpec[] = [
  { name: 'exempt', priorityLevel: 'exempt', distinguisher: undefined, matches: (u) => inGroup(u, MASTERS) },
  { name: 'probes', priorityLevel: 'exempt', distinguisher: undefined, matches: (_u, i) => !i.isResourceRequest && i.verb === 'get' && PROBE_PATHS.has(probeRoot(i.path)) },
  {
    name: 'system-leader-election',
    priorityLevel: 'leader-election',
    distinguisher: 'ByUser',
    matches: (u, i) => (u.name === CONTROLLER_MANAGER || u.name === SCHEDULER || inGroup(u, KUBE_SYSTEM_SERVICE_ACCOUNTS)) && isLeaderElectionRequest(i),
  },
  {
    name: 'endpoint-controller',
    priorityLevel: 'workload-high',
    distinguisher: 'ByUser',
    matches: (u, i) =>
      (u.name === CONTROLLER_MANAGER || u.name === 'system:serviceaccount:kube-system:endpoint-controller') && isEndpointsWrite(i),
  },
  {
    name: 'workload-leader-election',
    priorityLevel: 'leader-election',
    distinguisher: 'ByUser',
    matches: (u, i) => inGroup(u, SERVICE_ACCOUNTS) && i.isResourceRequest && i.group === 'coordination.k8s.io' && i.resource === 'leases' && LEADER_ELECTION_VERBS.has(i.verb),
  },
  {
    name: 'system-node-high',
    priorityLevel: 'node-high',
    distinguisher: 'ByUser',
    matches: (u, i) => inGroup(u, NODES) && i.isResourceRequest && ((i.group === '' && i.resource === 'nodes') || (i.group === 'coordination.k8s.io' && i.resource === 'leases')),
  },
  { name: 'system-nodes', priorityLevel: 'system', distinguisher: 'ByUser', matches: (u) => inGroup(u, NODES) },
  { name: 'kube-controller-manager', priorityLevel: 'workload-high', distinguisher: 'ByNamespace', matches: (u) => u.name === CONTROLLER_MANAGER },
  { name: 'kube-scheduler', priorityLevel: 'workload-high', distinguisher: 'ByNamespace', matches: (u) => u.name === SCHEDULER },
  { name: 'kube-system-service-accounts', priorityLevel: 'workload-high', distinguisher: 'ByNamespace', matches: (u) => inGroup(u, KUBE_SYSTEM_SERVICE_ACCOUNTS) },
  { name: 'service-accounts', priorityLevel: 'workload-low', distinguisher: 'ByUser', matches: (u) => inGroup(u, SERVICE_ACCOUNTS) },
  {
    name: 'global-default',
    priorityLevel: 'global-default',
    distinguisher: 'ByUser',
    matches: (u) => inGroup(u, 'system:authenticated') || inGroup(u, 'system:unauthenticated'),
  },
  { name: 'catch-all', priorityLevel: 'catch-all', distinguisher: 'ByUser', matches: () => true },
];

/** "/livez/ping" → "/livez": upstream's probes schema matches the probe paths and everything under them. */
function probeRoot(path: string): string {
  const slash = path.indexOf('/', 1);
  return slash === -1 ? path : path.slice(0, slash);
}

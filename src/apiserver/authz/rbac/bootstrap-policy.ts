/**
 * The default RBAC policy every cluster starts with, after upstream's bootstrappolicy (policy.go,
 * controller_policy.go, namespace_policy.go) as of v1.32, written as data; and its reconciliation
 * at start (upstream's `rbac/bootstrap-roles` post-start hook): missing objects are created,
 * autoupdate roles get the rules they lack, autoupdate bindings the subjects they lack.
 */
import type { KubeObject } from '../../../api/types.js';
import { ApiError } from '../../../api/errors.js';
import type { Client, ResourceRef } from '../../../client/interface.js';
import { covers, rulesOf, type PolicyRule } from './rules.js';
import { RBAC_GROUP } from './authorizer.js';

export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
export const BOOTSTRAPPING_LABEL = 'kubernetes.io/bootstrapping';
export const AGGREGATE_TO_ADMIN = 'rbac.authorization.k8s.io/aggregate-to-admin';
export const AGGREGATE_TO_EDIT = 'rbac.authorization.k8s.io/aggregate-to-edit';
export const AGGREGATE_TO_VIEW = 'rbac.authorization.k8s.io/aggregate-to-view';
/** Controller roles are named system:controller:<service account in kube-system>. */
export const CONTROLLER_ROLE_PREFIX = 'system:controller:';

export const CLUSTER_ROLES: ResourceRef = { group: RBAC_GROUP, version: 'v1', resource: 'clusterroles' };
export const CLUSTER_ROLE_BINDINGS: ResourceRef = { group: RBAC_GROUP, version: 'v1', resource: 'clusterrolebindings' };
export const ROLES: ResourceRef = { group: RBAC_GROUP, version: 'v1', resource: 'roles' };
export const ROLE_BINDINGS: ResourceRef = { group: RBAC_GROUP, version: 'v1', resource: 'rolebindings' };

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const READ_WRITE = [...READ, ...WRITE];
const READ_UPDATE = ['get', 'list', 'watch', 'update', 'patch'];

const CORE = '';
const APPS = 'apps';
const AUTHN = 'authentication.k8s.io';
const AUTHZ = 'authorization.k8s.io';
const AUTOSCALING = 'autoscaling';
const BATCH = 'batch';
const CERTIFICATES = 'certificates.k8s.io';
const COORDINATION = 'coordination.k8s.io';
const DISCOVERY = 'discovery.k8s.io';
const EXTENSIONS = 'extensions';
const POLICY = 'policy';
const STORAGE = 'storage.k8s.io';
const NETWORKING = 'networking.k8s.io';
const EVENTS = 'events.k8s.io';
const ADMISSION = 'admissionregistration.k8s.io';

function rule(verbs: string[], groups: string[], resources: string[], names?: string[]): PolicyRule {
  const r: PolicyRule = { verbs: [...verbs], apiGroups: [...groups], resources: [...resources] };
  if (names) r.resourceNames = [...names];
  return r;
}

function urls(verbs: string[], paths: string[]): PolicyRule {
  return { verbs: [...verbs], nonResourceURLs: [...paths] };
}

/** What every controller may do with events (upstream's eventsRule). */
const eventsRule = () => rule(['create', 'update', 'patch'], [CORE, EVENTS], ['events']);

interface RoleSpec {
  name: string;
  rules?: PolicyRule[];
  labels?: Record<string, string>;
  /** Label sets whose ClusterRoles this one aggregates. */
  aggregateFrom?: string[];
}

type Subject = { kind: 'User' | 'Group'; name: string } | { kind: 'ServiceAccount'; name: string; namespace: string };

interface BindingSpec {
  name: string;
  role: string;
  roleKind?: 'Role' | 'ClusterRole';
  subjects: Subject[];
}

const users = (...names: string[]): Subject[] => names.map((name) => ({ kind: 'User', name }));
const groups = (...names: string[]): Subject[] => names.map((name) => ({ kind: 'Group', name }));
const serviceAccount = (namespace: string, name: string): Subject => ({ kind: 'ServiceAccount', name, namespace });

function nodeRules(): PolicyRule[] {
  return [
    rule(['create'], [AUTHN], ['tokenreviews']),
    rule(['create'], [AUTHZ], ['subjectaccessreviews', 'localsubjectaccessreviews']),
    rule(READ, [CORE], ['services']),
    rule(['create', 'get', 'list', 'watch'], [CORE], ['nodes']),
    rule(['update', 'patch'], [CORE], ['nodes/status']),
    rule(['update', 'patch'], [CORE], ['nodes']),
    rule(['create', 'update', 'patch'], [CORE], ['events']),
    rule(READ, [CORE], ['pods']),
    rule(['create', 'delete'], [CORE], ['pods']),
    rule(['update', 'patch'], [CORE], ['pods/status']),
    rule(['create'], [CORE], ['pods/eviction']),
    rule(['get', 'list', 'watch'], [CORE], ['secrets', 'configmaps']),
    rule(['get'], [CORE], ['persistentvolumeclaims', 'persistentvolumes']),
    rule(['get'], [CORE], ['endpoints']),
    rule(['create', 'get', 'list', 'watch'], [CERTIFICATES], ['certificatesigningrequests']),
    rule(['get', 'create', 'update', 'patch', 'delete'], [COORDINATION], ['leases']),
    rule(['get'], [STORAGE], ['volumeattachments']),
    rule(['create'], [CORE], ['serviceaccounts/token']),
    rule(['get', 'update', 'patch'], [CORE], ['persistentvolumeclaims/status']),
    rule(['get', 'watch', 'list'], [STORAGE], ['csidrivers']),
    rule(['get', 'create', 'update', 'patch', 'delete'], [STORAGE], ['csinodes']),
    rule(['get', 'list', 'watch'], ['node.k8s.io'], ['runtimeclasses']),
  ];
}

const SYSTEM_ROLES: RoleSpec[] = [
  { name: 'cluster-admin', rules: [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])] },
  {
    name: 'system:discovery',
    rules: [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/', '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'])],
  },
  {
    name: 'system:monitoring',
    rules: [urls(['get'], ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'])],
  },
  {
    name: 'system:basic-user',
    rules: [rule(['create'], [AUTHZ], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']), rule(['create'], [AUTHN], ['selfsubjectreviews'])],
  },
  { name: 'system:public-info-viewer', rules: [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/'])] },
  { name: 'admin', aggregateFrom: [AGGREGATE_TO_ADMIN] },
  { name: 'edit', labels: { [AGGREGATE_TO_ADMIN]: 'true' }, aggregateFrom: [AGGREGATE_TO_EDIT] },
  { name: 'view', labels: { [AGGREGATE_TO_EDIT]: 'true' }, aggregateFrom: [AGGREGATE_TO_VIEW] },
  {
    name: 'system:aggregate-to-admin',
    labels: { [AGGREGATE_TO_ADMIN]: 'true' },
    rules: [rule(['create'], [AUTHZ], ['localsubjectaccessreviews']), rule(READ_WRITE, ['rbac.authorization.k8s.io'], ['roles', 'rolebindings'])],
  },
  {
    name: 'system:aggregate-to-edit',
    labels: { [AGGREGATE_TO_EDIT]: 'true' },
    rules: [
      // Read of escalating resources (secrets, exec…) belongs to edit, not view.
      rule(READ, [CORE], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
      rule(['impersonate'], [CORE], ['serviceaccounts']),
      rule(WRITE, [CORE], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
      rule(['create'], [CORE], ['pods/eviction']),
      rule(WRITE, [CORE], ['replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/proxy', 'persistentvolumeclaims', 'configmaps', 'secrets']),
      rule(['create'], [CORE], ['serviceaccounts/token']),
      rule(WRITE, [APPS], ['statefulsets', 'statefulsets/scale', 'daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'replicasets', 'replicasets/scale']),
      rule(WRITE, [AUTOSCALING], ['horizontalpodautoscalers']),
      rule(WRITE, [BATCH], ['jobs', 'cronjobs']),
      rule(WRITE, [EXTENSIONS], ['daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'ingresses', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale', 'networkpolicies']),
      rule(WRITE, [POLICY], ['poddisruptionbudgets']),
      rule(WRITE, [NETWORKING], ['networkpolicies', 'ingresses']),
    ],
  },
  {
    name: 'system:aggregate-to-view',
    labels: { [AGGREGATE_TO_VIEW]: 'true' },
    rules: [
      rule(READ, [CORE], ['pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps']),
      rule(READ, [CORE], ['limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status', 'replicationcontrollers/status', 'pods/log']),
      // Reading namespaces at namespace scope means reading *this* namespace.
      rule(READ, [CORE], ['namespaces']),
      rule(READ, [DISCOVERY], ['endpointslices']),
      rule(READ, [APPS], ['controllerrevisions', 'statefulsets', 'statefulsets/status', 'statefulsets/scale', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/status', 'deployments/scale', 'replicasets', 'replicasets/status', 'replicasets/scale']),
      rule(READ, [AUTOSCALING], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
      rule(READ, [BATCH], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
      rule(READ, [EXTENSIONS], ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale', 'networkpolicies']),
      rule(READ, [POLICY], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
      rule(READ, [NETWORKING], ['networkpolicies', 'ingresses', 'ingresses/status']),
    ],
  },
  { name: 'system:heapster', rules: [rule(READ, [CORE], ['events', 'pods', 'nodes', 'namespaces']), rule(READ, [EXTENSIONS], ['deployments'])] },
  { name: 'system:node', rules: nodeRules() },
  { name: 'system:node-problem-detector', rules: [rule(['get'], [CORE], ['nodes']), rule(['patch'], [CORE], ['nodes/status']), eventsRule()] },
  {
    name: 'system:kubelet-api-admin',
    rules: [rule(['get', 'list', 'watch'], [CORE], ['nodes']), rule(['proxy'], [CORE], ['nodes']), rule(['*'], [CORE], ['nodes/proxy', 'nodes/metrics', 'nodes/spec', 'nodes/stats', 'nodes/log'])],
  },
  { name: 'system:node-bootstrapper', rules: [rule(['create', 'get', 'list', 'watch'], [CERTIFICATES], ['certificatesigningrequests'])] },
  { name: 'system:auth-delegator', rules: [rule(['create'], [AUTHN], ['tokenreviews']), rule(['create'], [AUTHZ], ['subjectaccessreviews'])] },
  { name: 'system:kube-aggregator', rules: [rule(READ, [CORE], ['services', 'endpoints'])] },
  {
    name: 'system:kube-controller-manager',
    rules: [
      eventsRule(),
      rule(['create'], [COORDINATION], ['leases']),
      rule(['get', 'update'], [COORDINATION], ['leases'], ['kube-controller-manager']),
      rule(['create'], [CORE], ['endpoints']),
      rule(['get', 'update'], [CORE], ['endpoints'], ['kube-controller-manager']),
      rule(['create'], [CORE], ['secrets', 'serviceaccounts']),
      rule(['delete'], [CORE], ['secrets']),
      rule(['get'], [CORE], ['namespaces', 'secrets', 'serviceaccounts', 'configmaps']),
      rule(['update'], [CORE], ['secrets', 'serviceaccounts']),
      rule(['create'], [AUTHN], ['tokenreviews']),
      rule(['create'], [AUTHZ], ['subjectaccessreviews']),
      // Every shared informer lists and watches.
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['create'], [CORE], ['serviceaccounts/token']),
    ],
  },
  { name: 'system:kube-dns', rules: [rule(['list', 'watch'], [CORE], ['endpoints', 'services'])] },
  {
    name: 'system:persistent-volume-provisioner',
    rules: [
      rule(['get', 'list', 'watch', 'create', 'delete'], [CORE], ['persistentvolumes']),
      rule(['get', 'list', 'watch', 'update'], [CORE], ['persistentvolumeclaims']),
      rule(READ, [STORAGE], ['storageclasses']),
      rule(['watch'], [CORE], ['events']),
      eventsRule(),
    ],
  },
  { name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', rules: [rule(['create'], [CERTIFICATES], ['certificatesigningrequests/nodeclient'])] },
  { name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', rules: [rule(['create'], [CERTIFICATES], ['certificatesigningrequests/selfnodeclient'])] },
  {
    name: 'system:volume-scheduler',
    rules: [rule(READ_UPDATE, [CORE], ['persistentvolumes']), rule(READ, [STORAGE], ['storageclasses']), rule(READ_UPDATE, [CORE], ['persistentvolumeclaims'])],
  },
  { name: 'system:certificates.k8s.io:legacy-unknown-approver', rules: [rule(['approve'], [CERTIFICATES], ['signers'], ['kubernetes.io/legacy-unknown'])] },
  { name: 'system:certificates.k8s.io:kubelet-serving-approver', rules: [rule(['approve'], [CERTIFICATES], ['signers'], ['kubernetes.io/kubelet-serving'])] },
  { name: 'system:certificates.k8s.io:kube-apiserver-client-approver', rules: [rule(['approve'], [CERTIFICATES], ['signers'], ['kubernetes.io/kube-apiserver-client'])] },
  {
    name: 'system:certificates.k8s.io:kube-apiserver-client-kubelet-approver',
    rules: [rule(['approve'], [CERTIFICATES], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet'])],
  },
  { name: 'system:service-account-issuer-discovery', rules: [urls(['get'], ['/.well-known/openid-configuration', '/openid/v1/jwks'])] },
  {
    name: 'system:node-proxier',
    rules: [rule(['list', 'watch'], [CORE], ['services', 'endpoints']), rule(['get', 'list', 'watch'], [CORE], ['nodes']), eventsRule(), rule(['list', 'watch'], [DISCOVERY], ['endpointslices'])],
  },
  {
    name: 'system:kube-scheduler',
    rules: [
      eventsRule(),
      rule(['create'], [COORDINATION], ['leases']),
      rule(['get', 'update'], [COORDINATION], ['leases'], ['kube-scheduler']),
      rule(['create'], [CORE], ['endpoints']),
      rule(['get', 'update'], [CORE], ['endpoints'], ['kube-scheduler']),
      rule(READ, [CORE], ['nodes']),
      rule(['get', 'list', 'watch', 'delete'], [CORE], ['pods']),
      rule(['create'], [CORE], ['pods/binding', 'bindings']),
      rule(['patch', 'update'], [CORE], ['pods/status']),
      rule(READ, [CORE], ['services', 'replicationcontrollers']),
      rule(READ, [APPS, EXTENSIONS], ['replicasets']),
      rule(READ, [APPS], ['statefulsets']),
      rule(READ, [POLICY], ['poddisruptionbudgets']),
      rule(READ, [CORE], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['create'], [AUTHN], ['tokenreviews']),
      rule(['create'], [AUTHZ], ['subjectaccessreviews']),
      rule(READ, [STORAGE], ['csinodes']),
      rule(READ, [CORE], ['namespaces']),
      rule(READ, [STORAGE], ['csidrivers']),
      rule(READ, [STORAGE], ['csistoragecapacities']),
    ],
  },
];

/** The controllers' roles: system:controller:<name>, each bound to the kube-system service account <name>. */
const CONTROLLER_ROLES: RoleSpec[] = [
  {
    name: 'attachdetach-controller',
    rules: [
      rule(['list', 'watch'], [CORE], ['persistentvolumes', 'persistentvolumeclaims']),
      rule(['get', 'list', 'watch'], [CORE], ['nodes']),
      rule(['patch', 'update'], [CORE], ['nodes/status']),
      rule(['list', 'watch'], [CORE], ['pods']),
      eventsRule(),
      rule(['get', 'create', 'delete', 'list', 'watch'], [STORAGE], ['volumeattachments']),
      rule(['get', 'watch', 'list'], [STORAGE], ['csidrivers']),
      rule(['get', 'watch', 'list'], [STORAGE], ['csinodes']),
    ],
  },
  { name: 'clusterrole-aggregation-controller', rules: [rule(['escalate', 'get', 'list', 'watch', 'update', 'patch'], ['rbac.authorization.k8s.io'], ['clusterroles'])] },
  {
    name: 'cronjob-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], [BATCH], ['cronjobs']),
      rule(['get', 'list', 'watch', 'create', 'update', 'delete', 'patch'], [BATCH], ['jobs']),
      rule(['update'], [BATCH], ['cronjobs/status']),
      rule(['update'], [BATCH], ['cronjobs/finalizers']),
      rule(['list', 'delete'], [CORE], ['pods']),
      eventsRule(),
    ],
  },
  {
    name: 'daemon-set-controller',
    rules: [
      rule(['get', 'list', 'watch'], [EXTENSIONS, APPS], ['daemonsets']),
      rule(['update'], [EXTENSIONS, APPS], ['daemonsets/status']),
      rule(['update'], [EXTENSIONS, APPS], ['daemonsets/finalizers']),
      rule(['list', 'watch'], [CORE], ['nodes']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [CORE], ['pods']),
      rule(['create'], [CORE], ['pods/binding']),
      rule(['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'], [APPS], ['controllerrevisions']),
      eventsRule(),
    ],
  },
  {
    name: 'deployment-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], [EXTENSIONS, APPS], ['deployments']),
      rule(['update'], [EXTENSIONS, APPS], ['deployments/status']),
      rule(['update'], [EXTENSIONS, APPS], ['deployments/finalizers']),
      rule(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], [APPS, EXTENSIONS], ['replicasets']),
      rule(['get', 'list', 'watch', 'update'], [CORE], ['pods']),
      eventsRule(),
    ],
  },
  {
    name: 'disruption-controller',
    rules: [
      rule(['get', 'list', 'watch'], [EXTENSIONS, APPS], ['deployments']),
      rule(['get', 'list', 'watch'], [APPS, EXTENSIONS], ['replicasets']),
      rule(['get', 'list', 'watch'], [CORE], ['replicationcontrollers']),
      rule(['get', 'list', 'watch'], [POLICY], ['poddisruptionbudgets']),
      rule(['get', 'list', 'watch'], [APPS], ['statefulsets']),
      rule(['update'], [POLICY], ['poddisruptionbudgets/status']),
      rule(['patch', 'update'], [CORE], ['pods/status']),
      rule(['get'], ['*'], ['*/scale']),
      eventsRule(),
    ],
  },
  {
    name: 'endpoint-controller',
    rules: [
      rule(['get', 'list', 'watch'], [CORE], ['services', 'pods']),
      rule(['get', 'list', 'create', 'update', 'delete'], [CORE], ['endpoints']),
      rule(['create'], [CORE], ['endpoints/restricted']),
      eventsRule(),
    ],
  },
  {
    name: 'endpointslice-controller',
    rules: [
      rule(['get', 'list', 'watch'], [CORE], ['services', 'pods', 'nodes']),
      // Owner references with blockOwnerDeletion on a Service need its finalizers.
      rule(['update'], [CORE], ['services/finalizers']),
      rule(['get', 'list', 'create', 'update', 'delete'], [DISCOVERY], ['endpointslices']),
      eventsRule(),
    ],
  },
  {
    name: 'endpointslicemirroring-controller',
    rules: [
      rule(['get', 'list', 'watch'], [CORE], ['services', 'endpoints']),
      rule(['update'], [CORE], ['services/finalizers']),
      rule(['update'], [CORE], ['endpoints/finalizers']),
      rule(['get', 'list', 'create', 'update', 'delete'], [DISCOVERY], ['endpointslices']),
      eventsRule(),
    ],
  },
  {
    name: 'expand-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update', 'patch'], [CORE], ['persistentvolumes']),
      rule(['update', 'patch'], [CORE], ['persistentvolumeclaims/status']),
      rule(['get', 'list', 'watch'], [CORE], ['persistentvolumeclaims']),
      rule(['get', 'list', 'watch'], [STORAGE], ['storageclasses']),
      rule(['get'], [CORE], ['services', 'endpoints']),
      rule(['get'], [CORE], ['secrets']),
      eventsRule(),
    ],
  },
  {
    name: 'ephemeral-volume-controller',
    rules: [
      rule(['get', 'list', 'watch'], [CORE], ['pods']),
      rule(['update'], [CORE], ['pods/finalizers']),
      rule(['get', 'list', 'watch', 'create'], [CORE], ['persistentvolumeclaims']),
      eventsRule(),
    ],
  },
  { name: 'generic-garbage-collector', rules: [rule(['get', 'list', 'watch', 'patch', 'update', 'delete'], ['*'], ['*']), eventsRule()] },
  {
    name: 'horizontal-pod-autoscaler',
    rules: [
      rule(['get', 'list', 'watch'], [AUTOSCALING], ['horizontalpodautoscalers']),
      rule(['update'], [AUTOSCALING], ['horizontalpodautoscalers/status']),
      rule(['get', 'update'], ['*'], ['*/scale']),
      rule(['list'], [CORE], ['pods']),
      rule(['list'], ['metrics.k8s.io'], ['pods']),
      rule(['get', 'list'], ['custom.metrics.k8s.io'], ['*']),
      rule(['get', 'list'], ['external.metrics.k8s.io'], ['*']),
      eventsRule(),
    ],
  },
  {
    name: 'job-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update', 'patch'], [BATCH], ['jobs']),
      rule(['update'], [BATCH], ['jobs/status']),
      rule(['update'], [BATCH], ['jobs/finalizers']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [CORE], ['pods']),
      eventsRule(),
    ],
  },
  {
    name: 'namespace-controller',
    rules: [
      rule(['get', 'list', 'watch', 'delete'], [CORE], ['namespaces']),
      rule(['update'], [CORE], ['namespaces/finalize', 'namespaces/status']),
      rule(['get', 'list', 'delete', 'deletecollection'], ['*'], ['*']),
    ],
  },
  {
    name: 'node-controller',
    rules: [
      rule(['get', 'list', 'update', 'delete', 'patch'], [CORE], ['nodes']),
      rule(['patch', 'update'], [CORE], ['nodes/status']),
      rule(['patch', 'update'], [CORE], ['pods/status']),
      rule(['list', 'get', 'delete'], [CORE], ['pods']),
      eventsRule(),
    ],
  },
  {
    name: 'persistent-volume-binder',
    rules: [
      rule(['get', 'list', 'watch', 'update', 'create', 'delete'], [CORE], ['persistentvolumes']),
      rule(['update'], [CORE], ['persistentvolumes/status']),
      rule(['get', 'list', 'watch', 'update'], [CORE], ['persistentvolumeclaims']),
      rule(['update'], [CORE], ['persistentvolumeclaims/status']),
      rule(['list', 'watch', 'get', 'create', 'delete'], [CORE], ['pods']),
      rule(['get', 'list', 'watch'], [STORAGE], ['storageclasses']),
      rule(['get', 'create', 'update', 'delete'], [CORE], ['endpoints']),
      rule(['get', 'create', 'delete'], [CORE], ['services']),
      rule(['get'], [CORE], ['secrets']),
      rule(['get', 'list'], [CORE], ['nodes']),
      rule(['watch'], [CORE], ['events']),
      eventsRule(),
    ],
  },
  {
    name: 'pod-garbage-collector',
    rules: [rule(['list', 'watch', 'delete'], [CORE], ['pods']), rule(['get', 'list'], [CORE], ['nodes']), rule(['patch'], [CORE], ['pods/status'])],
  },
  {
    name: 'replicaset-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], [APPS, EXTENSIONS], ['replicasets']),
      rule(['update'], [APPS, EXTENSIONS], ['replicasets/status']),
      rule(['update'], [APPS, EXTENSIONS], ['replicasets/finalizers']),
      rule(['list', 'watch', 'patch', 'create', 'delete'], [CORE], ['pods']),
      eventsRule(),
    ],
  },
  {
    name: 'replication-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], [CORE], ['replicationcontrollers']),
      rule(['update'], [CORE], ['replicationcontrollers/status']),
      rule(['update'], [CORE], ['replicationcontrollers/finalizers']),
      rule(['list', 'watch', 'patch', 'create', 'delete'], [CORE], ['pods']),
      eventsRule(),
    ],
  },
  {
    name: 'resourcequota-controller',
    rules: [rule(['list', 'watch'], ['*'], ['*']), rule(['update'], [CORE], ['resourcequotas/status']), eventsRule()],
  },
  { name: 'route-controller', rules: [rule(['list', 'watch'], [CORE], ['nodes']), rule(['patch'], [CORE], ['nodes/status']), eventsRule()] },
  { name: 'service-account-controller', rules: [rule(['create'], [CORE], ['serviceaccounts']), eventsRule()] },
  {
    name: 'service-controller',
    rules: [rule(['get', 'list', 'watch'], [CORE], ['services']), rule(['patch', 'update'], [CORE], ['services/status']), rule(['list', 'watch'], [CORE], ['nodes']), eventsRule()],
  },
  {
    name: 'statefulset-controller',
    rules: [
      rule(['list', 'watch'], [CORE], ['pods']),
      rule(['get', 'list', 'watch'], [APPS], ['statefulsets']),
      rule(['update'], [APPS], ['statefulsets/status']),
      rule(['update'], [APPS], ['statefulsets/finalizers']),
      rule(['get', 'create', 'delete', 'update', 'patch'], [CORE], ['pods']),
      rule(['get', 'create', 'delete', 'update', 'patch', 'list', 'watch'], [APPS], ['controllerrevisions']),
      rule(['get', 'create'], [CORE], ['persistentvolumeclaims']),
      eventsRule(),
      // StatefulSetAutoDeletePVC (beta, on by default in v1.32).
      rule(['update', 'delete'], [CORE], ['persistentvolumeclaims']),
    ],
  },
  { name: 'ttl-controller', rules: [rule(['update', 'patch', 'list', 'watch'], [CORE], ['nodes']), eventsRule()] },
  {
    name: 'certificate-controller',
    rules: [
      rule(['get', 'list', 'watch', 'delete'], [CERTIFICATES], ['certificatesigningrequests']),
      rule(['update'], [CERTIFICATES], ['certificatesigningrequests/status', 'certificatesigningrequests/approval']),
      rule(['approve'], [CERTIFICATES], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet']),
      rule(['sign'], [CERTIFICATES], ['signers'], ['kubernetes.io/legacy-unknown', 'kubernetes.io/kube-apiserver-client', 'kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/kubelet-serving']),
      rule(['create'], [AUTHZ], ['subjectaccessreviews']),
      eventsRule(),
    ],
  },
  { name: 'pvc-protection-controller', rules: [rule(['get', 'list', 'watch', 'update'], [CORE], ['persistentvolumeclaims']), rule(['list', 'watch', 'get'], [CORE], ['pods']), eventsRule()] },
  { name: 'pv-protection-controller', rules: [rule(['get', 'list', 'watch', 'update'], [CORE], ['persistentvolumes']), eventsRule()] },
  { name: 'ttl-after-finished-controller', rules: [rule(['get', 'list', 'watch', 'delete'], [BATCH], ['jobs']), eventsRule()] },
  { name: 'root-ca-cert-publisher', rules: [rule(['create', 'update'], [CORE], ['configmaps']), eventsRule()] },
  {
    name: 'validatingadmissionpolicy-status-controller',
    rules: [rule(['get', 'list', 'watch'], [ADMISSION], ['validatingadmissionpolicies']), rule(['get', 'patch', 'update'], [ADMISSION], ['validatingadmissionpolicies/status']), eventsRule()],
  },
  {
    name: 'legacy-service-account-token-cleaner',
    rules: [rule(['get'], [CORE], ['configmaps'], ['kube-apiserver-legacy-service-account-token-tracking']), rule(['patch', 'delete'], [CORE], ['secrets'])],
  },
];

/**
 * Where skiff's components read more than upstream's do, the extra rules live in roles of their
 * own (never added to upstream's), so upstream's defaults stay exactly upstream's.
 */
const SKIFF_ROLES: RoleSpec[] = [
  // skiff's scheduler resolves a pod's priority class itself (upstream relies on spec.priority alone).
  { name: 'skiff:kube-scheduler', rules: [rule(READ, ['scheduling.k8s.io'], ['priorityclasses'])] },
  // Simulated nodes (scale tests) are a fleet of kubelets behind one client, so the Node authorizer,
  // which confines one node to itself, cannot describe them: they get what a kubelet does, for every node.
  {
    name: 'skiff:simulated-nodes',
    rules: [
      rule(READ_WRITE, [CORE], ['nodes', 'pods']),
      rule(['get', 'update', 'patch'], [CORE], ['nodes/status', 'pods/status']),
      rule(READ_WRITE, [COORDINATION], ['leases']),
      rule(['create', 'update', 'patch'], [CORE, EVENTS], ['events']),
    ],
  },
];

/** The identity in-process simulated nodes act as. */
export const SIMULATED_NODES_USER = 'skiff:simulated-nodes';

const SKIFF_BINDINGS: BindingSpec[] = [
  { name: 'skiff:kube-scheduler', role: 'skiff:kube-scheduler', subjects: users('system:kube-scheduler') },
  { name: 'skiff:simulated-nodes', role: 'skiff:simulated-nodes', subjects: users('skiff:simulated-nodes') },
];

const SYSTEM_BINDINGS: BindingSpec[] = [
  { name: 'cluster-admin', role: 'cluster-admin', subjects: groups('system:masters') },
  { name: 'system:monitoring', role: 'system:monitoring', subjects: groups('system:monitoring') },
  { name: 'system:discovery', role: 'system:discovery', subjects: groups('system:authenticated') },
  { name: 'system:basic-user', role: 'system:basic-user', subjects: groups('system:authenticated') },
  { name: 'system:public-info-viewer', role: 'system:public-info-viewer', subjects: groups('system:authenticated', 'system:unauthenticated') },
  { name: 'system:node-proxier', role: 'system:node-proxier', subjects: users('system:kube-proxy') },
  { name: 'system:kube-controller-manager', role: 'system:kube-controller-manager', subjects: users('system:kube-controller-manager') },
  { name: 'system:kube-dns', role: 'system:kube-dns', subjects: [serviceAccount('kube-system', 'kube-dns')] },
  { name: 'system:kube-scheduler', role: 'system:kube-scheduler', subjects: users('system:kube-scheduler') },
  { name: 'system:volume-scheduler', role: 'system:volume-scheduler', subjects: users('system:kube-scheduler') },
  // Deprecated since the Node authorizer: kept with no subjects so reconciliation can tighten it.
  { name: 'system:node', role: 'system:node', subjects: [] },
  { name: 'system:service-account-issuer-discovery', role: 'system:service-account-issuer-discovery', subjects: groups('system:serviceaccounts') },
];

/** Roles and bindings upstream keeps in particular namespaces (namespace_policy.go). */
const NAMESPACE_ROLES: Record<string, RoleSpec[]> = {
  'kube-system': [
    { name: 'extension-apiserver-authentication-reader', rules: [rule(['get', 'list', 'watch'], [CORE], ['configmaps'], ['extension-apiserver-authentication'])] },
    { name: 'system::leader-locking-kube-controller-manager', rules: [rule(['watch'], [CORE], ['configmaps']), rule(['get', 'update'], [CORE], ['configmaps'], ['kube-controller-manager'])] },
    { name: 'system::leader-locking-kube-scheduler', rules: [rule(['watch'], [CORE], ['configmaps']), rule(['get', 'update'], [CORE], ['configmaps'], ['kube-scheduler'])] },
    { name: 'system:controller:bootstrap-signer', rules: [rule(['get', 'list', 'watch'], [CORE], ['secrets'])] },
    { name: 'system:controller:cloud-provider', rules: [rule(['create', 'get', 'list', 'watch'], [CORE], ['configmaps'])] },
    { name: 'system:controller:token-cleaner', rules: [rule(['delete', 'get', 'list', 'watch'], [CORE], ['secrets']), eventsRule()] },
  ],
  'kube-public': [
    {
      name: 'system:controller:bootstrap-signer',
      rules: [rule(['get', 'list', 'watch'], [CORE], ['configmaps']), rule(['update'], [CORE], ['configmaps'], ['cluster-info']), eventsRule()],
    },
  ],
};

const NAMESPACE_BINDINGS: Record<string, BindingSpec[]> = {
  'kube-system': [
    {
      name: 'system::extension-apiserver-authentication-reader',
      role: 'extension-apiserver-authentication-reader',
      roleKind: 'Role',
      subjects: users('system:kube-controller-manager', 'system:kube-scheduler'),
    },
    {
      name: 'system::leader-locking-kube-controller-manager',
      role: 'system::leader-locking-kube-controller-manager',
      roleKind: 'Role',
      subjects: [...users('system:kube-controller-manager'), serviceAccount('kube-system', 'kube-controller-manager')],
    },
    {
      name: 'system::leader-locking-kube-scheduler',
      role: 'system::leader-locking-kube-scheduler',
      roleKind: 'Role',
      subjects: [...users('system:kube-scheduler'), serviceAccount('kube-system', 'kube-scheduler')],
    },
    { name: 'system:controller:bootstrap-signer', role: 'system:controller:bootstrap-signer', roleKind: 'Role', subjects: [serviceAccount('kube-system', 'bootstrap-signer')] },
    { name: 'system:controller:cloud-provider', role: 'system:controller:cloud-provider', roleKind: 'Role', subjects: [serviceAccount('kube-system', 'cloud-provider')] },
    { name: 'system:controller:token-cleaner', role: 'system:controller:token-cleaner', roleKind: 'Role', subjects: [serviceAccount('kube-system', 'token-cleaner')] },
  ],
  'kube-public': [
    { name: 'system:controller:bootstrap-signer', role: 'system:controller:bootstrap-signer', roleKind: 'Role', subjects: [serviceAccount('kube-system', 'bootstrap-signer')] },
  ],
};

function defaultMetadata(name: string, namespace?: string, labels?: Record<string, string>): NonNullable<KubeObject['metadata']> {
  const m: NonNullable<KubeObject['metadata']> = {
    name,
    labels: { ...(labels ?? {}), [BOOTSTRAPPING_LABEL]: 'rbac-defaults' },
    annotations: { [AUTOUPDATE_ANNOTATION]: 'true' },
  };
  if (namespace) m.namespace = namespace;
  return m;
}

function roleObject(spec: RoleSpec, kind: 'ClusterRole' | 'Role', namespace?: string): KubeObject {
  const obj: KubeObject = { apiVersion: `${RBAC_GROUP}/v1`, kind, metadata: defaultMetadata(spec.name, namespace, spec.labels) };
  if (spec.aggregateFrom) {
    (obj as Record<string, unknown>).aggregationRule = { clusterRoleSelectors: spec.aggregateFrom.map((l) => ({ matchLabels: { [l]: 'true' } })) };
  }
  (obj as Record<string, unknown>).rules = spec.rules ?? [];
  return obj;
}

function subjectObject(s: Subject): Record<string, string> {
  if (s.kind === 'ServiceAccount') return { kind: 'ServiceAccount', name: s.name, namespace: s.namespace };
  return { kind: s.kind, apiGroup: RBAC_GROUP, name: s.name };
}

function bindingObject(spec: BindingSpec, kind: 'ClusterRoleBinding' | 'RoleBinding', namespace?: string): KubeObject {
  const obj: Record<string, unknown> = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind,
    metadata: defaultMetadata(spec.name, namespace),
    roleRef: { apiGroup: RBAC_GROUP, kind: spec.roleKind ?? 'ClusterRole', name: spec.role },
  };
  if (spec.subjects.length > 0) obj.subjects = spec.subjects.map(subjectObject);
  return obj as KubeObject;
}

/** Upstream's ClusterRoles() + ControllerRoles(): every default ClusterRole, fresh objects. */
export function bootstrapClusterRoles(): KubeObject[] {
  return [
    ...SYSTEM_ROLES.map((r) => roleObject(r, 'ClusterRole')),
    ...SKIFF_ROLES.map((r) => roleObject(r, 'ClusterRole')),
    ...CONTROLLER_ROLES.map((r) => roleObject({ ...r, name: CONTROLLER_ROLE_PREFIX + r.name }, 'ClusterRole')),
  ];
}

/** Upstream's ClusterRoleBindings() + ControllerRoleBindings(). */
export function bootstrapClusterRoleBindings(): KubeObject[] {
  return [
    ...SYSTEM_BINDINGS.map((b) => bindingObject(b, 'ClusterRoleBinding')),
    ...SKIFF_BINDINGS.map((b) => bindingObject(b, 'ClusterRoleBinding')),
    ...CONTROLLER_ROLES.map((r) =>
      bindingObject({ name: CONTROLLER_ROLE_PREFIX + r.name, role: CONTROLLER_ROLE_PREFIX + r.name, subjects: [serviceAccount('kube-system', r.name)] }, 'ClusterRoleBinding'),
    ),
  ];
}

/** Upstream's NamespaceRoles(): namespace → Roles. */
export function bootstrapNamespaceRoles(): Record<string, KubeObject[]> {
  return Object.fromEntries(Object.entries(NAMESPACE_ROLES).map(([ns, roles]) => [ns, roles.map((r) => roleObject(r, 'Role', ns))]));
}

/** Upstream's NamespaceRoleBindings(): namespace → RoleBindings. */
export function bootstrapNamespaceRoleBindings(): Record<string, KubeObject[]> {
  return Object.fromEntries(Object.entries(NAMESPACE_BINDINGS).map(([ns, bs]) => [ns, bs.map((b) => bindingObject(b, 'RoleBinding', ns))]));
}

/** The names of the controller roles (system:controller:<service account>), for identities. */
export const CONTROLLER_SERVICE_ACCOUNTS: readonly string[] = CONTROLLER_ROLES.map((r) => r.name);

const isAutoupdate = (obj: KubeObject) => obj.metadata?.annotations?.[AUTOUPDATE_ANNOTATION] !== 'false';

/**
 * Upstream's `rbac/bootstrap-roles` post-start hook, on the loopback client: creates the default
 * roles and bindings that are missing; to an existing role that allows auto-update adds the rules
 * it lacks (and the labels and annotations), to such a binding the subjects it lacks. Never removes
 * anything (upstream's non-tightening reconciliation) and writes nothing when all is in place.
 */
export async function ensureBootstrapPolicy(client: Client): Promise<void> {
  // Upstream creates the namespaces its namespaced roles live in when they are missing.
  await Promise.all(Object.keys(NAMESPACE_ROLES).map((ns) => ensureNamespace(client, ns)));
  const work: Promise<void>[] = [];
  for (const role of bootstrapClusterRoles()) work.push(reconcileRole(client, CLUSTER_ROLES, '', role));
  for (const binding of bootstrapClusterRoleBindings()) work.push(reconcileBinding(client, CLUSTER_ROLE_BINDINGS, '', binding));
  for (const [ns, roles] of Object.entries(bootstrapNamespaceRoles())) for (const r of roles) work.push(reconcileRole(client, ROLES, ns, r));
  for (const [ns, bs] of Object.entries(bootstrapNamespaceRoleBindings())) for (const b of bs) work.push(reconcileBinding(client, ROLE_BINDINGS, ns, b));
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };

async function ensureNamespace(client: Client, name: string): Promise<void> {
  if (await getOrUndefined(client, NAMESPACES, '', name)) return;
  try {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 409)) throw err;
  }
}

async function getOrUndefined(client: Client, ref: ResourceRef, ns: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(ref, ns, name);
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

/** Creates `want`, or merges it into what exists; retries a lost race (409) a few times. */
async function reconcile(client: Client, ref: ResourceRef, ns: string, want: KubeObject, merge: (have: KubeObject) => KubeObject | undefined): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const have = await getOrUndefined(client, ref, ns, want.metadata!.name!);
      if (!have) {
        await client.create(ref, ns, want);
        return;
      }
      if (!isAutoupdate(have)) return;
      const updated = merge(have);
      if (updated) await client.update(ref, ns, updated);
      return;
    } catch (err) {
      if (attempt < 5 && err instanceof ApiError && err.code === 409) continue;
      throw err;
    }
  }
}

function mergeMetadata(have: KubeObject, want: KubeObject): { metadata: NonNullable<KubeObject['metadata']>; changed: boolean } {
  const metadata = { ...have.metadata!, labels: { ...(have.metadata?.labels ?? {}) }, annotations: { ...(have.metadata?.annotations ?? {}) } };
  let changed = false;
  for (const [k, v] of Object.entries(want.metadata?.labels ?? {})) {
    if (metadata.labels[k] === undefined) {
      metadata.labels[k] = v;
      changed = true;
    }
  }
  for (const [k, v] of Object.entries(want.metadata?.annotations ?? {})) {
    if (metadata.annotations[k] === undefined) {
      metadata.annotations[k] = v;
      changed = true;
    }
  }
  return { metadata, changed };
}

function reconcileRole(client: Client, ref: ResourceRef, ns: string, want: KubeObject): Promise<void> {
  return reconcile(client, ref, ns, want, (have) => {
    const { metadata, changed } = mergeMetadata(have, want);
    const out = { ...have, metadata } as Record<string, unknown>;
    let dirty = changed;
    const wantAggregation = (want as Record<string, unknown>).aggregationRule as { clusterRoleSelectors: unknown[] } | undefined;
    if (wantAggregation) {
      // An aggregated role's rules are the aggregation controller's: reconcile only its selectors.
      const haveAggregation = (have as Record<string, unknown>).aggregationRule as { clusterRoleSelectors?: unknown[] } | undefined;
      const selectors = [...(haveAggregation?.clusterRoleSelectors ?? [])];
      for (const s of wantAggregation.clusterRoleSelectors) {
        if (!selectors.some((x) => JSON.stringify(x) === JSON.stringify(s))) {
          selectors.push(s);
          dirty = true;
        }
      }
      out.aggregationRule = { clusterRoleSelectors: selectors };
    } else {
      const haveRules = rulesOf(have as { rules?: unknown });
      const { missing } = covers(haveRules, rulesOf(want as { rules?: unknown }));
      if (missing.length > 0) {
        // Upstream appends the wanted rules that are not already covered, whole.
        const extra = rulesOf(want as { rules?: unknown }).filter((r) => !covers(haveRules, [r]).covered);
        out.rules = [...(((have as Record<string, unknown>).rules as unknown[]) ?? []), ...extra];
        dirty = true;
      }
    }
    return dirty ? (out as KubeObject) : undefined;
  });
}

function reconcileBinding(client: Client, ref: ResourceRef, ns: string, want: KubeObject): Promise<void> {
  return reconcile(client, ref, ns, want, (have) => {
    const { metadata, changed } = mergeMetadata(have, want);
    const haveSubjects = ((have as Record<string, unknown>).subjects as Record<string, unknown>[] | undefined) ?? [];
    const same = (a: Record<string, unknown>, b: Record<string, unknown>) => a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');
    const extra = (((want as Record<string, unknown>).subjects as Record<string, unknown>[] | undefined) ?? []).filter((s) => !haveSubjects.some((h) => same(h, s)));
    if (!changed && extra.length === 0) return undefined;
    const out = { ...have, metadata } as Record<string, unknown>;
    if (extra.length > 0) out.subjects = [...haveSubjects, ...extra];
    return out as KubeObject;
  });
}

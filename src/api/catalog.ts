/**
 * The resource catalog: every built-in kind skiff serves, as data. The generic handlers, discovery
 * and OpenAPI are all derived from these entries; CustomResourceDefinitions add entries at run time.
 */
import type { ResourceEntry, ScaleSpec } from './types.js';

export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** Upstream's OpenAPI definition prefix per API group (the Go package the types live in). */
const DEFINITION_PACKAGE: Record<string, string> = {
  '': 'io.k8s.api.core',
  apps: 'io.k8s.api.apps',
  batch: 'io.k8s.api.batch',
  'coordination.k8s.io': 'io.k8s.api.coordination',
  'rbac.authorization.k8s.io': 'io.k8s.api.rbac',
  'networking.k8s.io': 'io.k8s.api.networking',
  'discovery.k8s.io': 'io.k8s.api.discovery',
  'events.k8s.io': 'io.k8s.api.events',
  policy: 'io.k8s.api.policy',
  autoscaling: 'io.k8s.api.autoscaling',
  'scheduling.k8s.io': 'io.k8s.api.scheduling',
  'storage.k8s.io': 'io.k8s.api.storage',
  'apiextensions.k8s.io': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions',
  'admissionregistration.k8s.io': 'io.k8s.api.admissionregistration',
  'authentication.k8s.io': 'io.k8s.api.authentication',
  'authorization.k8s.io': 'io.k8s.api.authorization',
  'certificates.k8s.io': 'io.k8s.api.certificates',
};

const REPLICAS_SCALE: ScaleSpec = {
  specReplicasPath: '.spec.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.status.selector',
};

interface EntryOptions {
  shortNames?: string[];
  categories?: string[];
  namespaced?: boolean;
  status?: boolean;
  scale?: ScaleSpec;
  hasSpec?: boolean;
  verbs?: string[];
  singular?: string;
  finalize?: boolean;
  binding?: boolean;
  eviction?: boolean;
  createOnly?: Record<string, { group: string; version: string; kind: string }>;
  approval?: boolean;
}

function entry(group: string, version: string, kind: string, plural: string, o: EntryOptions = {}): ResourceEntry {
  return {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: o.singular ?? kind.toLowerCase(),
    namespaced: o.namespaced ?? true,
    shortNames: o.shortNames ?? [],
    categories: o.categories ?? [],
    verbs: o.verbs ?? STANDARD_VERBS,
    definition: `${DEFINITION_PACKAGE[group]}.${version}.${kind}`,
    subresources: { ...(o.status ? { status: true } : {}), ...(o.scale ? { scale: o.scale } : {}), ...(o.finalize ? { finalize: true } : {}), ...(o.binding ? { binding: true } : {}), ...(o.eviction ? { eviction: true } : {}), ...(o.createOnly ? { createOnly: o.createOnly } : {}), ...(o.approval ? { approval: true } : {}) },
    hasSpec: o.hasSpec ?? false,
  };
}

const ALL = ['all'];
const CLUSTER = { namespaced: false };

export const builtinResources: ResourceEntry[] = [
  // core/v1
  entry('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  entry('', 'v1', 'Endpoints', 'endpoints', { shortNames: ['ep'], singular: 'endpoints' }),
  entry('', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  entry('', 'v1', 'LimitRange', 'limitranges', { shortNames: ['limits'] }),
  entry('', 'v1', 'Namespace', 'namespaces', {
    ...CLUSTER,
    shortNames: ['ns'],
    status: true,
    finalize: true,
    // Upstream offers no deletecollection on namespaces: emptying a cluster by accident is too easy.
    verbs: STANDARD_VERBS.filter((v) => v !== 'deletecollection'),
  }),
  entry('', 'v1', 'Node', 'nodes', { ...CLUSTER, shortNames: ['no'], status: true }),
  entry('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', { shortNames: ['pvc'], status: true }),
  entry('', 'v1', 'PersistentVolume', 'persistentvolumes', { ...CLUSTER, shortNames: ['pv'], status: true }),
  entry('', 'v1', 'Pod', 'pods', { shortNames: ['po'], categories: ALL, status: true, binding: true, eviction: true }),
  entry('', 'v1', 'PodTemplate', 'podtemplates'),
  entry('', 'v1', 'ReplicationController', 'replicationcontrollers', {
    shortNames: ['rc'],
    categories: ALL,
    status: true,
    scale: REPLICAS_SCALE,
    hasSpec: true,
  }),
  entry('', 'v1', 'ResourceQuota', 'resourcequotas', { shortNames: ['quota'], status: true }),
  entry('', 'v1', 'Secret', 'secrets'),
  entry('', 'v1', 'ServiceAccount', 'serviceaccounts', { shortNames: ['sa'], createOnly: { token: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } } }),
  entry('', 'v1', 'Service', 'services', { shortNames: ['svc'], categories: ALL, status: true }),
  // apps/v1
  entry('apps', 'v1', 'ControllerRevision', 'controllerrevisions'),
  entry('apps', 'v1', 'DaemonSet', 'daemonsets', { shortNames: ['ds'], categories: ALL, status: true, hasSpec: true }),
  entry('apps', 'v1', 'Deployment', 'deployments', { shortNames: ['deploy'], categories: ALL, status: true, scale: REPLICAS_SCALE, hasSpec: true }),
  entry('apps', 'v1', 'ReplicaSet', 'replicasets', { shortNames: ['rs'], categories: ALL, status: true, scale: REPLICAS_SCALE, hasSpec: true }),
  entry('apps', 'v1', 'StatefulSet', 'statefulsets', { shortNames: ['sts'], categories: ALL, status: true, scale: REPLICAS_SCALE, hasSpec: true }),
  // batch/v1
  entry('batch', 'v1', 'CronJob', 'cronjobs', { shortNames: ['cj'], categories: ALL, status: true, hasSpec: true }),
  entry('batch', 'v1', 'Job', 'jobs', { categories: ALL, status: true, hasSpec: true }),
  // coordination.k8s.io/v1
  entry('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  // rbac.authorization.k8s.io/v1
  entry('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', CLUSTER),
  entry('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', CLUSTER),
  entry('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  entry('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  // networking.k8s.io/v1
  entry('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', CLUSTER),
  entry('networking.k8s.io', 'v1', 'Ingress', 'ingresses', { shortNames: ['ing'], status: true, hasSpec: true }),
  entry('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', { shortNames: ['netpol'], hasSpec: true }),
  // discovery.k8s.io/v1
  entry('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
  // authentication.k8s.io/v1
  entry('authentication.k8s.io', 'v1', 'TokenReview', 'tokenreviews', { ...CLUSTER, verbs: ['create'] }),
  // events.k8s.io/v1
  entry('events.k8s.io', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  // policy/v1
  entry('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', { shortNames: ['pdb'], status: true, hasSpec: true }),
  // autoscaling/v1 and v2
  entry('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    shortNames: ['hpa'],
    categories: ALL,
    status: true,
    hasSpec: true,
  }),
  entry('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    shortNames: ['hpa'],
    categories: ALL,
    status: true,
    hasSpec: true,
  }),
  // scheduling.k8s.io/v1
  entry('scheduling.k8s.io', 'v1', 'PriorityClass', 'priorityclasses', { ...CLUSTER, shortNames: ['pc'] }),
  // storage.k8s.io/v1
  entry('storage.k8s.io', 'v1', 'CSIDriver', 'csidrivers', CLUSTER),
  entry('storage.k8s.io', 'v1', 'CSINode', 'csinodes', CLUSTER),
  entry('storage.k8s.io', 'v1', 'CSIStorageCapacity', 'csistoragecapacities'),
  entry('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', { ...CLUSTER, shortNames: ['sc'] }),
  entry('storage.k8s.io', 'v1', 'VolumeAttachment', 'volumeattachments', { ...CLUSTER, status: true }),
  // admissionregistration.k8s.io/v1
  entry('admissionregistration.k8s.io', 'v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', { ...CLUSTER, categories: ['api-extensions'] }),
  entry('admissionregistration.k8s.io', 'v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', { ...CLUSTER, categories: ['api-extensions'] }),
  entry('admissionregistration.k8s.io', 'v1', 'ValidatingAdmissionPolicy', 'validatingadmissionpolicies', { ...CLUSTER, categories: ['api-extensions'], status: true, hasSpec: true }),
  entry('admissionregistration.k8s.io', 'v1', 'ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings', { ...CLUSTER, categories: ['api-extensions'], hasSpec: true }),
  // authentication.k8s.io/v1 and authorization.k8s.io/v1: create-only kinds answered by code (create-only.ts)
  entry('authentication.k8s.io', 'v1', 'SelfSubjectReview', 'selfsubjectreviews', { ...CLUSTER, verbs: ['create'] }),
  entry('authorization.k8s.io', 'v1', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', { verbs: ['create'] }),
  entry('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', { ...CLUSTER, verbs: ['create'] }),
  entry('authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', { ...CLUSTER, verbs: ['create'] }),
  entry('authorization.k8s.io', 'v1', 'SubjectAccessReview', 'subjectaccessreviews', { ...CLUSTER, verbs: ['create'] }),
  // certificates.k8s.io/v1
  entry('certificates.k8s.io', 'v1', 'CertificateSigningRequest', 'certificatesigningrequests', { ...CLUSTER, shortNames: ['csr'], status: true, approval: true }),

  // apiextensions.k8s.io/v1
  entry('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', {
    ...CLUSTER,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    status: true,
    hasSpec: true,
  }),
];

/** Preferred version per group, in the order upstream lists groups in discovery. */
export const GROUP_ORDER = [
  '',
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
];

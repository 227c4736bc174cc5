// The facts about built-in types that kubernetes-types' .d.ts files do not carry: how upstream names
// each package, which numbers are int64 or double, how lists and maps merge (upstream's
// +patchStrategy / +patchMergeKey / +listType / +listMapKey / +mapType / +structType markers), which
// struct fields Go holds by value (upstream then writes a zero `default`), and the few types whose
// JSON shape TypeScript cannot say. gen-schemas.mjs applies them; everything else it derives.
//
// Keys are kubernetes-types modules ('core/v1' = node_modules/kubernetes-types/core/v1.d.ts) and the
// type names inside them. Markers follow upstream 1.26 (api/openapi-spec/v3) unless a comment says
// the field came later; scripts/compare-openapi.mjs checks them against /work/shared/k8s-openapi.

/** OpenAPI definition prefix per module; any other 'x/vN' module is 'io.k8s.api.x.vN'. */
export const PACKAGES = {
  'meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
  'api/resource': 'io.k8s.apimachinery.pkg.api.resource',
  runtime: 'io.k8s.apimachinery.pkg.runtime',
  version: 'io.k8s.apimachinery.pkg.version',
  'apiextensions/v1': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1',
};

/**
 * Integer fields that Go declares int64, by JSON name wherever they occur. Every other `number` is
 * int32 unless NUMBER_FORMATS says otherwise (the .d.ts only says `number`).
 */
export const INT64_FIELDS = [
  'activeDeadlineSeconds', 'deletionGracePeriodSeconds', 'expirationSeconds', 'fsGroup', 'generation',
  'gracePeriodSeconds', 'observedGeneration', 'remainingItemCount', 'revision', 'runAsGroup', 'runAsUser',
  'sizeBytes', 'startingDeadlineSeconds', 'supplementalGroups', 'terminationGracePeriodSeconds',
  'tolerationSeconds',
  'seconds', // SleepAction, added in 1.29
];

/** Per-field formats that the name rule above gets wrong, and []byte fields (base64 strings). */
export const FORMATS = {
  'core/v1': { Secret: { data: 'byte' }, ConfigMap: { binaryData: 'byte' } },
  'certificates/v1': {
    CertificateSigningRequestSpec: { expirationSeconds: 'int32', request: 'byte' },
    CertificateSigningRequestStatus: { certificate: 'byte' },
  },
  'apiextensions/v1': {
    JSONSchemaProps: {
      maxItems: 'int64', maxLength: 'int64', maxProperties: 'int64',
      minItems: 'int64', minLength: 'int64', minProperties: 'int64',
      maximum: 'double', minimum: 'double', multipleOf: 'double',
    },
  },
};
/** []byte fields by JSON name wherever they occur (webhook and API service CA bundles). */
export const BYTE_FIELDS = ['caBundle'];

// Merge markers, one string per field:
//   patch=merge/name            x-kubernetes-patch-strategy merge, x-kubernetes-patch-merge-key name
//   patch=merge,retainKeys/name the same with a compound strategy; patch=retainKeys, patch=replace
//   list=atomic | list=set      x-kubernetes-list-type
//   list=map/k1,k2              x-kubernetes-list-type map with x-kubernetes-list-map-keys [k1, k2]
//   map=atomic | map=granular   x-kubernetes-map-type on a map or struct field
const CONTAINER = {
  env: 'patch=merge/name',
  ports: 'patch=merge/containerPort list=map/containerPort,protocol',
  resizePolicy: 'list=atomic', // added in 1.27
  volumeDevices: 'patch=merge/devicePath',
  volumeMounts: 'patch=merge/mountPath',
};
const CONDITIONS_BY_TYPE = { conditions: 'patch=merge/type' };
const CONDITIONS_MAP = { conditions: 'patch=merge/type list=map/type' };
const FLOWCONTROL = {
  FlowSchemaSpec: { rules: 'list=atomic' },
  FlowSchemaStatus: CONDITIONS_MAP,
  NonResourcePolicyRule: { nonResourceURLs: 'list=set', verbs: 'list=set' },
  PolicyRulesWithSubjects: { nonResourceRules: 'list=atomic', resourceRules: 'list=atomic', subjects: 'list=atomic' },
  PriorityLevelConfigurationStatus: CONDITIONS_MAP,
  ResourcePolicyRule: { apiGroups: 'list=set', namespaces: 'list=set', resources: 'list=set', verbs: 'list=set' },
};
const RULE_LISTS = { apiGroups: 'list=atomic', apiVersions: 'list=atomic', operations: 'list=atomic', resources: 'list=atomic' };
const ADMISSION_POLICY = {
  MatchResources: { excludeResourceRules: 'list=atomic', resourceRules: 'list=atomic' },
  NamedRuleWithOperations: { ...RULE_LISTS, resourceNames: 'list=atomic' },
  ValidatingAdmissionPolicySpec: { validations: 'list=atomic' },
};

export const MERGE = {
  'meta/v1': {
    LabelSelectorRequirement: { key: 'patch=merge/key' },
    ObjectMeta: {
      // listType=set is newer upstream's marker (kept: finalizers are a set for apply and validation).
      finalizers: 'patch=merge list=set',
      ownerReferences: 'patch=merge/uid',
    },
  },
  'core/v1': {
    ComponentStatus: CONDITIONS_BY_TYPE,
    Container: CONTAINER,
    ContainerStatus: { volumeMounts: 'patch=merge/mountPath list=map/mountPath' }, // added in 1.30
    EphemeralContainer: CONTAINER,
    LoadBalancerIngress: { ports: 'list=atomic' },
    NamespaceStatus: CONDITIONS_BY_TYPE,
    NodeSpec: { podCIDRs: 'patch=merge' },
    NodeStatus: { addresses: 'patch=merge/type', conditions: 'patch=merge/type', runtimeHandlers: 'list=atomic' },
    PersistentVolumeClaimStatus: { conditions: 'patch=merge/type', allocatedResourceStatuses: 'map=granular' },
    PersistentVolumeSpec: { claimRef: 'map=granular' },
    PodAffinityTerm: { matchLabelKeys: 'list=atomic', mismatchLabelKeys: 'list=atomic' }, // added in 1.29
    PodSpec: {
      containers: 'patch=merge/name',
      ephemeralContainers: 'patch=merge/name',
      hostAliases: 'patch=merge/ip',
      imagePullSecrets: 'patch=merge/name',
      initContainers: 'patch=merge/name',
      nodeSelector: 'map=atomic',
      resourceClaims: 'patch=merge,retainKeys/name list=map/name',
      schedulingGates: 'patch=merge/name list=map/name',
      topologySpreadConstraints: 'patch=merge/topologyKey list=map/topologyKey,whenUnsatisfiable',
      volumes: 'patch=merge,retainKeys/name',
    },
    PodStatus: {
      conditions: 'patch=merge/type',
      hostIPs: 'patch=merge/ip list=atomic', // added in 1.28
      podIPs: 'patch=merge/ip',
      resourceClaimStatuses: 'patch=merge,retainKeys/name list=map/name', // added in 1.28
    },
    ReplicationControllerSpec: { selector: 'map=atomic' },
    ReplicationControllerStatus: CONDITIONS_BY_TYPE,
    ResourceRequirements: { claims: 'list=map/name' },
    ServiceAccount: { secrets: 'patch=merge/name' },
    ServiceSpec: {
      clusterIPs: 'list=atomic',
      ipFamilies: 'list=atomic',
      ports: 'patch=merge/port list=map/port,protocol',
      selector: 'map=atomic',
    },
    ServiceStatus: CONDITIONS_MAP,
    TopologySpreadConstraint: { matchLabelKeys: 'list=atomic' },
  },
  'apps/v1': {
    DaemonSetStatus: CONDITIONS_BY_TYPE,
    DeploymentSpec: { strategy: 'patch=retainKeys' },
    DeploymentStatus: CONDITIONS_BY_TYPE,
    ReplicaSetStatus: CONDITIONS_BY_TYPE,
    StatefulSetStatus: CONDITIONS_BY_TYPE,
  },
  'autoscaling/v2': {
    HPAScalingRules: { policies: 'list=atomic' },
    HorizontalPodAutoscalerSpec: { metrics: 'list=atomic' },
    HorizontalPodAutoscalerStatus: { ...CONDITIONS_MAP, currentMetrics: 'list=atomic' },
  },
  'batch/v1': {
    CronJobStatus: { active: 'list=atomic' },
    JobStatus: { conditions: 'patch=merge/type list=atomic' },
    PodFailurePolicy: { rules: 'list=atomic' },
    PodFailurePolicyOnExitCodesRequirement: { values: 'list=set' },
    PodFailurePolicyRule: { onPodConditions: 'list=atomic' },
    SuccessPolicy: { rules: 'list=atomic' }, // added in 1.30
    UncountedTerminatedPods: { failed: 'list=set', succeeded: 'list=set' },
  },
  'discovery/v1': {
    Endpoint: { addresses: 'list=set' },
    EndpointHints: { forZones: 'list=atomic' },
    EndpointSlice: { endpoints: 'list=atomic', ports: 'list=atomic' },
  },
  'networking/v1': {
    HTTPIngressRuleValue: { paths: 'list=atomic' },
    IngressLoadBalancerIngress: { ports: 'list=atomic' },
    IngressSpec: { rules: 'list=atomic', tls: 'list=atomic' },
    IngressTLS: { hosts: 'list=atomic' },
  },
  'policy/v1': {
    PodDisruptionBudgetSpec: { selector: 'patch=replace' },
    PodDisruptionBudgetStatus: CONDITIONS_MAP,
  },
  'storage/v1': {
    CSIDriverSpec: { tokenRequests: 'list=atomic', volumeLifecycleModes: 'list=set' },
    CSINodeSpec: { drivers: 'patch=merge/name' },
    CSIStorageCapacityList: { items: 'list=map/name' },
    StorageClass: { allowedTopologies: 'list=atomic' },
  },
  'apiextensions/v1': {
    CustomResourceDefinitionStatus: { conditions: 'list=map/type' },
    CustomResourceDefinitionVersion: { selectableFields: 'list=atomic' }, // added in 1.30
    JSONSchemaProps: { 'x-kubernetes-validations': 'patch=merge/rule list=map/rule' },
  },
  // Groups the catalog does not serve yet; cheap to keep right for when it does.
  'admissionregistration/v1': {
    ...ADMISSION_POLICY,
    MutatingWebhookConfiguration: { webhooks: 'patch=merge/name' },
    RuleWithOperations: RULE_LISTS,
    ValidatingWebhookConfiguration: { webhooks: 'patch=merge/name' },
  },
  'admissionregistration/v1alpha1': ADMISSION_POLICY,
  'admissionregistration/v1beta1': ADMISSION_POLICY,
  'apiserverinternal/v1alpha1': {
    ServerStorageVersion: { decodableVersions: 'list=set' },
    StorageVersionStatus: { conditions: 'list=map/type', storageVersions: 'list=map/apiServerID' },
  },
  'certificates/v1': {
    CertificateSigningRequestSpec: { groups: 'list=atomic', request: 'list=atomic', usages: 'list=atomic' },
    CertificateSigningRequestStatus: { certificate: 'list=atomic', conditions: 'list=map/type' },
  },
  'flowcontrol/v1': FLOWCONTROL,
  'flowcontrol/v1beta3': FLOWCONTROL,
  'node/v1': { Scheduling: { nodeSelector: 'map=atomic', tolerations: 'list=atomic' } },
};

/** Structs marked +structType=atomic (or +mapType=atomic): replaced whole on apply. */
export const ATOMIC_STRUCTS = {
  'meta/v1': ['LabelSelector', 'OwnerReference'],
  'core/v1': [
    'ConfigMapKeySelector', 'EndpointAddress', 'EndpointPort', 'LocalObjectReference', 'NodeSelector',
    'NodeSelectorTerm', 'ObjectFieldSelector', 'ObjectReference', 'ResourceFieldSelector', 'ScopeSelector',
    'SecretKeySelector', 'SecretReference', 'TopologySelectorTerm', 'TypedLocalObjectReference',
  ],
  'autoscaling/v1': ['CrossVersionObjectReference'],
  'admissionregistration/v1': ['MatchResources', 'NamedRuleWithOperations', 'ParamKind', 'ParamRef'],
  'admissionregistration/v1alpha1': ['MatchResources', 'NamedRuleWithOperations', 'ParamKind', 'ParamRef'],
  'admissionregistration/v1beta1': ['MatchResources', 'NamedRuleWithOperations', 'ParamKind', 'ParamRef'],
  'discovery/v1': ['EndpointPort'],
  'rbac/v1': ['RoleRef', 'Subject'],
};

// Upstream writes `default` with the zero value for fields Go holds by value: required scalars
// ("" / 0 / false), list items and map values, and struct fields that are not pointers. The rules
// live in gen-schemas.mjs; these are the fields that break them.

/** Struct types that are always held by value, so an optional field of the type defaults to {}. */
export const VALUE_STRUCTS = {
  'meta/v1': ['GroupVersionForDiscovery'],
  runtime: ['RawExtension'],
  'core/v1': [
    'ClaimSource', 'ContainerState', 'DaemonEndpoint', 'EventSource', 'LoadBalancerStatus', 'NodeDaemonEndpoints',
    'NodeSystemInfo', 'ResourceRequirements', 'VolumeResourceRequirements',
  ],
  'apps/v1': ['DaemonSetUpdateStrategy', 'DeploymentStrategy', 'StatefulSetUpdateStrategy'],
  'authentication/v1': ['UserInfo'],
  'discovery/v1': ['EndpointConditions'],
  'networking/v1': ['IngressLoadBalancerStatus', 'ServiceBackendPort'],
  'flowcontrol/v1': ['LimitResponse'],
  'flowcontrol/v1beta3': ['LimitResponse'],
  'apiextensions/v1': ['CustomResourceDefinitionNames'],
};

/**
 * Field-by-field exceptions: `value` = an optional struct held by value (defaults to {}),
 * `pointer` = a required field held by pointer (no default), any other string or number = the
 * default upstream declares for an optional field (+default markers).
 * Time fields of *Condition types are values by rule and need no entry.
 */
const FLOWCONTROL_DEFAULTS = {
  FlowSchemaSpec: { matchingPrecedence: 0 },
  QueuingConfiguration: { handSize: 0, queueLengthLimit: 0, queues: 0 },
};
export const DEFAULTS = {
  'meta/v1': { ObjectMeta: { creationTimestamp: 'value' } },
  'core/v1': {
    ContainerPort: { protocol: 'TCP' },
    ContainerStateRunning: { startedAt: 'value' },
    ContainerStateTerminated: { startedAt: 'value', finishedAt: 'value' },
    Event: { eventTime: 'value', firstTimestamp: 'value', lastTimestamp: 'value', reportingComponent: '', reportingInstance: '' },
    EventSeries: { lastObservedTime: 'value' },
    GRPCAction: { service: '' },
    PodTemplate: { template: 'value' },
    ResourceFieldSelector: { divisor: 'value' },
    ScaleIOPersistentVolumeSource: { secretRef: 'pointer' },
    ScaleIOVolumeSource: { secretRef: 'pointer' },
    ServicePort: { protocol: 'TCP', targetPort: 'value' },
  },
  'apps/v1': {
    DaemonSetSpec: { selector: 'pointer' },
    DeploymentSpec: { selector: 'pointer' },
    ReplicaSetSpec: { selector: 'pointer', template: 'value' },
    StatefulSetOrdinals: { start: 0 },
    StatefulSetSpec: { selector: 'pointer' },
    StatefulSetStatus: { availableReplicas: 0 },
  },
  'events/v1': {
    Event: { deprecatedFirstTimestamp: 'value', deprecatedLastTimestamp: 'value', deprecatedSource: 'value', regarding: 'value' },
  },
  'networking/v1': { HTTPIngressPath: { pathType: 'pointer' } },
  'storage/v1': { VolumeError: { time: 'value' } },
  'apiextensions/v1': { CustomResourceSubresources: { status: 'pointer' } },
  'admissionregistration/v1': { MutatingWebhook: { sideEffects: 'pointer' }, ValidatingWebhook: { sideEffects: 'pointer' } },
  'flowcontrol/v1': FLOWCONTROL_DEFAULTS,
  'flowcontrol/v1beta3': {
    ...FLOWCONTROL_DEFAULTS,
    LimitedPriorityLevelConfiguration: { nominalConcurrencyShares: 0 },
  },
};

/**
 * Types whose JSON shape TypeScript cannot express; the shape replaces what the .d.ts would give
 * (descriptions still come from the .d.ts).
 */
export const SHAPES = {
  'meta/v1': {
    Time: { type: 'string', format: 'date-time' },
    MicroTime: { type: 'string', format: 'date-time' },
  },
  // A Quantity is written as a string, but a bare number is accepted on input.
  'api/resource': { Quantity: { oneOf: [{ type: 'string' }, { type: 'number' }] } },
  // Any JSON value, or unions of a schema with a bool/array: upstream leaves them untyped.
  'apiextensions/v1': {
    JSON: {},
    JSONSchemaPropsOrArray: {},
    JSONSchemaPropsOrBool: {},
    JSONSchemaPropsOrStringArray: {},
  },
};

/**
 * IntOrString has no declaration in kubernetes-types (fields are inlined as `number | string`).
 * x-kubernetes-int-or-string is not in upstream's built-in schemas; it is the marker CRD schemas
 * use for the same thing, and lets one validator treat both alike.
 */
export const INT_OR_STRING = {
  name: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  schema: {
    description:
      'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
  },
};

/**
 * Kinds that are registered in every group-version (so upstream lists one GVK per group-version);
 * gen-schemas fills in the group-versions it finds in kubernetes-types.
 */
export const EVERY_GROUP_VERSION_KINDS = { 'meta/v1': ['DeleteOptions', 'WatchEvent'] };

/** Kinds whose .d.ts apiVersion/kind are plain strings, with the group-versions upstream gives them. */
export const EXTRA_GVKS = {
  'meta/v1': {
    APIGroup: ['v1'],
    APIGroupList: ['v1'],
    APIResourceList: ['v1'],
    APIVersions: ['v1'],
    Status: ['v1'],
  },
};

/**
 * Properties kubernetes-types leaves out, as TypeScript declarations merged into the module's
 * interfaces (so they go through the same conversion). Its generator skips `x-` names (the CRD
 * schema extensions) and drops fields whose upstream description contains a comment terminator
 * (a star then a slash), so these descriptions are reworded to avoid one.
 */
const RULE_RESOURCES = `
      /** Resources is the list of resources the rule applies to: '*' means all resources, 'pods/*' every subresource of pods, 'pods/status' one subresource. Required. */
      resources?: Array<string>;
      /** scope is "Cluster", "Namespaced" or "*" (the default: either). */
      scope?: string;`;
export const MISSING_PROPERTIES = {
  'admissionregistration/v1': `
    interface RuleWithOperations {${RULE_RESOURCES}
    }
    interface NamedRuleWithOperations {${RULE_RESOURCES}
    }`,
  'admissionregistration/v1alpha1': `
    interface NamedRuleWithOperations {${RULE_RESOURCES}
    }`,
  'admissionregistration/v1beta1': `
    interface NamedRuleWithOperations {${RULE_RESOURCES}
    }`,
  'authorization/v1': `
    interface ResourceRule {
      /** Resources is a list of resources this rule applies to.  "*" means all in the specified apiGroups; "pods/*" and "pods/log" name subresources. */
      resources?: Array<string>;
      /** Verb is a list of kubernetes resource API verbs, like: get, list, watch, create, update, delete, proxy.  "*" means all. */
      verbs: Array<string>;
    }`,
  'apiextensions/v1': `
    interface JSONSchemaProps {
      /** x-kubernetes-embedded-resource says the value is an embedded Kubernetes object with apiVersion, kind and metadata. The type must be object. It may be combined with x-kubernetes-preserve-unknown-fields. */
      'x-kubernetes-embedded-resource'?: boolean;
      /** x-kubernetes-int-or-string says the value may be an integer or a string. With it, the type must be empty, or the schema an anyOf of one integer and one string. */
      'x-kubernetes-int-or-string'?: boolean;
      /** x-kubernetes-list-map-keys names the item fields used as keys of a list with x-kubernetes-list-type map. The fields must be scalars, required, or defaulted. */
      'x-kubernetes-list-map-keys'?: Array<string>;
      /**
       * x-kubernetes-list-type says how a list merges and what it may hold:
       *
       * 1) \`atomic\`: the list is replaced whole; any items (the default).
       * 2) \`set\`: scalar items, each unique.
       * 3) \`map\`: object items, keyed by x-kubernetes-list-map-keys.
       */
      'x-kubernetes-list-type'?: string;
      /**
       * x-kubernetes-map-type says how an object merges:
       *
       * 1) \`granular\`: field by field (the default).
       * 2) \`atomic\`: replaced whole.
       */
      'x-kubernetes-map-type'?: string;
      /** x-kubernetes-preserve-unknown-fields keeps fields the schema does not name, instead of pruning them. It applies below this node until nested properties or additionalProperties are given. */
      'x-kubernetes-preserve-unknown-fields'?: boolean;
      /** x-kubernetes-validations lists CEL rules the value must satisfy. */
      'x-kubernetes-validations'?: Array<ValidationRule>;
    }`,
};

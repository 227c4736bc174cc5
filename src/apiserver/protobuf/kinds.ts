/**
 * The kinds skiff reads as protobuf: what kubectl 1.32 sends that way (every `kubectl create
 * <generator>`, `auth can-i`, `auth whoami`, `autoscale`, `debug`), with ObjectMeta and the types
 * they embed. Our own tables; field numbers from upstream's generated.proto files (k8s.io/api,
 * k8s.io/apimachinery). Pod specs cover what kubectl's generators and ordinary manifests use; a field
 * we have no entry for makes the decoder refuse the body (415) rather than drop it.
 */
import { mapOf, message, type MessageSchema } from './schema.js';

// ---- meta/v1 ------------------------------------------------------------------------------------
const OwnerReference = message('OwnerReference', {
  5: ['apiVersion', 'string', 'k'],
  1: ['kind', 'string', 'k'],
  3: ['name', 'string', 'k'],
  4: ['uid', 'string', 'k'],
  6: ['controller', 'bool', 'k'],
  7: ['blockOwnerDeletion', 'bool', 'k'],
});
const ManagedFieldsEntry = message('ManagedFieldsEntry', {
  1: ['manager', 'string'],
  2: ['operation', 'string'],
  3: ['apiVersion', 'string'],
  4: ['time', 'time'],
  6: ['fieldsType', 'string'],
  7: ['fieldsV1', 'rawjson'],
  8: ['subresource', 'string'],
});
export const ObjectMeta = message('ObjectMeta', {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  4: ['selfLink', 'string'],
  5: ['uid', 'string'],
  6: ['resourceVersion', 'string'],
  7: ['generation', 'int64'],
  8: ['creationTimestamp', 'time'],
  9: ['deletionTimestamp', 'time'],
  10: ['deletionGracePeriodSeconds', 'int64', 'k'],
  11: ['labels', mapOf('string')],
  12: ['annotations', mapOf('string')],
  13: ['ownerReferences', OwnerReference, 'r'],
  14: ['finalizers', 'string', 'r'],
  17: ['managedFields', ManagedFieldsEntry, 'r'],
});
const LabelSelectorRequirement = message('LabelSelectorRequirement', {
  1: ['key', 'string', 'k'],
  2: ['operator', 'string', 'k'],
  3: ['values', 'string', 'r'],
});
const LabelSelector = message('LabelSelector', {
  1: ['matchLabels', mapOf('string')],
  2: ['matchExpressions', LabelSelectorRequirement, 'r'],
});
const DeleteOptions = message('DeleteOptions', {
  1: ['gracePeriodSeconds', 'int64', 'k'],
  2: ['preconditions', message('Preconditions', { 1: ['uid', 'string', 'k'], 2: ['resourceVersion', 'string', 'k'] })],
  3: ['orphanDependents', 'bool', 'k'],
  4: ['propagationPolicy', 'string', 'k'],
  5: ['dryRun', 'string', 'r'],
  6: ['ignoreStoreReadErrorWithClusterBreakingPotential', 'bool', 'k'],
});

/**
 * A status on create: clients send the zero value (gogo-protobuf writes its non-pointer fields as
 * zeros, which the decoder skips). Anything more is refused rather than silently dropped.
 */
const status = (kind: string) => message(`${kind}Status`, {});

// ---- rbac.authorization.k8s.io/v1 ---------------------------------------------------------------
const PolicyRule = message('PolicyRule', {
  1: ['verbs', 'string', 'r'],
  2: ['apiGroups', 'string', 'r'],
  3: ['resources', 'string', 'r'],
  4: ['resourceNames', 'string', 'r'],
  5: ['nonResourceURLs', 'string', 'r'],
});
const Subject = message('Subject', {
  1: ['kind', 'string', 'k'],
  2: ['apiGroup', 'string'],
  3: ['name', 'string', 'k'],
  4: ['namespace', 'string'],
});
const RoleRef = message('RoleRef', { 1: ['apiGroup', 'string', 'k'], 2: ['kind', 'string', 'k'], 3: ['name', 'string', 'k'] });
const Role = message('Role', { 1: ['metadata', ObjectMeta], 2: ['rules', PolicyRule, 'r'] });
const ClusterRole = message('ClusterRole', {
  1: ['metadata', ObjectMeta],
  2: ['rules', PolicyRule, 'r'],
  3: ['aggregationRule', message('AggregationRule', { 1: ['clusterRoleSelectors', LabelSelector, 'r'] })],
});
const binding = (kind: string) => message(kind, { 1: ['metadata', ObjectMeta], 2: ['subjects', Subject, 'r'], 3: ['roleRef', RoleRef] });

// ---- core/v1: small kinds -----------------------------------------------------------------------
const LocalObjectReference = message('LocalObjectReference', { 1: ['name', 'string'] });
const ObjectReference = message('ObjectReference', {
  1: ['kind', 'string'],
  2: ['namespace', 'string'],
  3: ['name', 'string'],
  4: ['uid', 'string'],
  5: ['apiVersion', 'string'],
  6: ['resourceVersion', 'string'],
  7: ['fieldPath', 'string'],
});
const Namespace = message('Namespace', {
  1: ['metadata', ObjectMeta],
  2: ['spec', message('NamespaceSpec', { 1: ['finalizers', 'string', 'r'] })],
  3: ['status', status('Namespace')],
});
const ServiceAccount = message('ServiceAccount', {
  1: ['metadata', ObjectMeta],
  2: ['secrets', ObjectReference, 'r'],
  3: ['imagePullSecrets', LocalObjectReference, 'r'],
  4: ['automountServiceAccountToken', 'bool', 'k'],
});
const ConfigMap = message('ConfigMap', {
  1: ['metadata', ObjectMeta],
  2: ['data', mapOf('string')],
  3: ['binaryData', mapOf('bytes')],
  4: ['immutable', 'bool', 'k'],
});
const Secret = message('Secret', {
  1: ['metadata', ObjectMeta],
  2: ['data', mapOf('bytes')],
  3: ['type', 'string'],
  4: ['stringData', mapOf('string')],
  5: ['immutable', 'bool', 'k'],
});
const ResourceQuota = message('ResourceQuota', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('ResourceQuotaSpec', {
      1: ['hard', mapOf('quantity')],
      2: ['scopes', 'string', 'r'],
      3: [
        'scopeSelector',
        message('ScopeSelector', {
          1: [
            'matchExpressions',
            message('ScopedResourceSelectorRequirement', { 1: ['scopeName', 'string', 'k'], 2: ['operator', 'string', 'k'], 3: ['values', 'string', 'r'] }),
            'r',
          ],
        }),
      ],
    }),
  ],
  3: ['status', status('ResourceQuota')],
});
const ServicePort = message('ServicePort', {
  1: ['name', 'string'],
  2: ['protocol', 'string'],
  6: ['appProtocol', 'string', 'k'],
  3: ['port', 'int32', 'k'],
  4: ['targetPort', 'intstr'],
  5: ['nodePort', 'int32'],
});
const Service = message('Service', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('ServiceSpec', {
      1: ['ports', ServicePort, 'r'],
      2: ['selector', mapOf('string')],
      3: ['clusterIP', 'string'],
      18: ['clusterIPs', 'string', 'r'],
      4: ['type', 'string'],
      5: ['externalIPs', 'string', 'r'],
      7: ['sessionAffinity', 'string'],
      8: ['loadBalancerIP', 'string'],
      9: ['loadBalancerSourceRanges', 'string', 'r'],
      10: ['externalName', 'string'],
      11: ['externalTrafficPolicy', 'string'],
      12: ['healthCheckNodePort', 'int32'],
      13: ['publishNotReadyAddresses', 'bool'],
      14: ['sessionAffinityConfig', message('SessionAffinityConfig', { 1: ['clientIP', message('ClientIPConfig', { 1: ['timeoutSeconds', 'int32', 'k'] })] })],
      19: ['ipFamilies', 'string', 'r'],
      17: ['ipFamilyPolicy', 'string', 'k'],
      20: ['allocateLoadBalancerNodePorts', 'bool', 'k'],
      21: ['loadBalancerClass', 'string', 'k'],
      22: ['internalTrafficPolicy', 'string', 'k'],
      23: ['trafficDistribution', 'string', 'k'],
    }),
  ],
  3: ['status', status('Service')],
});
const Eviction = message('Eviction', { 1: ['metadata', ObjectMeta], 2: ['deleteOptions', DeleteOptions] });

// ---- core/v1: pods --------------------------------------------------------------------------------
const KeyToPath = message('KeyToPath', { 1: ['key', 'string', 'k'], 2: ['path', 'string', 'k'], 3: ['mode', 'int32', 'k'] });
const VolumeSource = message('VolumeSource', {
  1: ['hostPath', message('HostPathVolumeSource', { 1: ['path', 'string', 'k'], 2: ['type', 'string', 'k'] })],
  2: ['emptyDir', message('EmptyDirVolumeSource', { 1: ['medium', 'string'], 2: ['sizeLimit', 'quantity'] })],
  6: [
    'secret',
    message('SecretVolumeSource', { 1: ['secretName', 'string'], 2: ['items', KeyToPath, 'r'], 3: ['defaultMode', 'int32', 'k'], 4: ['optional', 'bool', 'k'] }),
  ],
  10: ['persistentVolumeClaim', message('PersistentVolumeClaimVolumeSource', { 1: ['claimName', 'string', 'k'], 2: ['readOnly', 'bool'] })],
  19: [
    'configMap',
    message('ConfigMapVolumeSource', {
      1: ['', LocalObjectReference, 'i'],
      2: ['items', KeyToPath, 'r'],
      3: ['defaultMode', 'int32', 'k'],
      4: ['optional', 'bool', 'k'],
    }),
  ],
});
const Volume = message('Volume', { 1: ['name', 'string', 'k'], 2: ['', VolumeSource, 'i'] });
const keySelector = (name: string) => message(name, { 1: ['', LocalObjectReference, 'i'], 2: ['key', 'string', 'k'], 3: ['optional', 'bool', 'k'] });
const EnvVar = message('EnvVar', {
  1: ['name', 'string', 'k'],
  2: ['value', 'string'],
  3: [
    'valueFrom',
    message('EnvVarSource', {
      1: ['fieldRef', message('ObjectFieldSelector', { 1: ['apiVersion', 'string'], 2: ['fieldPath', 'string', 'k'] })],
      2: [
        'resourceFieldRef',
        message('ResourceFieldSelector', { 1: ['containerName', 'string'], 2: ['resource', 'string', 'k'], 3: ['divisor', 'quantity'] }),
      ],
      3: ['configMapKeyRef', keySelector('ConfigMapKeySelector')],
      4: ['secretKeyRef', keySelector('SecretKeySelector')],
    }),
  ],
});
const envSource = (name: string) => message(name, { 1: ['', LocalObjectReference, 'i'], 2: ['optional', 'bool', 'k'] });
const EnvFromSource = message('EnvFromSource', {
  1: ['prefix', 'string'],
  2: ['configMapRef', envSource('ConfigMapEnvSource')],
  3: ['secretRef', envSource('SecretEnvSource')],
});
const ContainerPort = message('ContainerPort', {
  1: ['name', 'string'],
  2: ['hostPort', 'int32'],
  3: ['containerPort', 'int32', 'k'],
  4: ['protocol', 'string'],
  5: ['hostIP', 'string'],
});
const ResourceRequirements = message('ResourceRequirements', {
  1: ['limits', mapOf('quantity')],
  2: ['requests', mapOf('quantity')],
  3: ['claims', message('ResourceClaim', { 1: ['name', 'string', 'k'], 2: ['request', 'string'] }), 'r'],
});
const VolumeMount = message('VolumeMount', {
  1: ['name', 'string', 'k'],
  2: ['readOnly', 'bool'],
  7: ['recursiveReadOnly', 'string', 'k'],
  3: ['mountPath', 'string', 'k'],
  4: ['subPath', 'string'],
  5: ['mountPropagation', 'string', 'k'],
  6: ['subPathExpr', 'string'],
});
const ProbeHandler = message('ProbeHandler', {
  1: ['exec', message('ExecAction', { 1: ['command', 'string', 'r'] })],
  2: [
    'httpGet',
    message('HTTPGetAction', {
      1: ['path', 'string'],
      2: ['port', 'intstr'],
      3: ['host', 'string'],
      4: ['scheme', 'string'],
      5: ['httpHeaders', message('HTTPHeader', { 1: ['name', 'string', 'k'], 2: ['value', 'string', 'k'] }), 'r'],
    }),
  ],
  3: ['tcpSocket', message('TCPSocketAction', { 1: ['port', 'intstr'], 2: ['host', 'string'] })],
  4: ['grpc', message('GRPCAction', { 1: ['port', 'int32', 'k'], 2: ['service', 'string', 'k'] })],
});
const Probe = message('Probe', {
  1: ['', ProbeHandler, 'i'],
  2: ['initialDelaySeconds', 'int32'],
  3: ['timeoutSeconds', 'int32'],
  4: ['periodSeconds', 'int32'],
  5: ['successThreshold', 'int32'],
  6: ['failureThreshold', 'int32'],
  7: ['terminationGracePeriodSeconds', 'int64', 'k'],
});
const SeccompProfile = message('SeccompProfile', { 1: ['type', 'string', 'k'], 2: ['localhostProfile', 'string', 'k'] });
const SecurityContext = message('SecurityContext', {
  1: ['capabilities', message('Capabilities', { 1: ['add', 'string', 'r'], 2: ['drop', 'string', 'r'] })],
  2: ['privileged', 'bool', 'k'],
  4: ['runAsUser', 'int64', 'k'],
  8: ['runAsGroup', 'int64', 'k'],
  5: ['runAsNonRoot', 'bool', 'k'],
  6: ['readOnlyRootFilesystem', 'bool', 'k'],
  7: ['allowPrivilegeEscalation', 'bool', 'k'],
  9: ['procMount', 'string', 'k'],
  11: ['seccompProfile', SeccompProfile],
});
/** Container's fields; EphemeralContainerCommon has the same numbers. */
const containerFields = (name: string) =>
  message(name, {
    1: ['name', 'string', 'k'],
    2: ['image', 'string'],
    3: ['command', 'string', 'r'],
    4: ['args', 'string', 'r'],
    5: ['workingDir', 'string'],
    6: ['ports', ContainerPort, 'r'],
    19: ['envFrom', EnvFromSource, 'r'],
    7: ['env', EnvVar, 'r'],
    8: ['resources', ResourceRequirements],
    24: ['restartPolicy', 'string', 'k'],
    9: ['volumeMounts', VolumeMount, 'r'],
    10: ['livenessProbe', Probe],
    11: ['readinessProbe', Probe],
    22: ['startupProbe', Probe],
    13: ['terminationMessagePath', 'string'],
    20: ['terminationMessagePolicy', 'string'],
    14: ['imagePullPolicy', 'string'],
    15: ['securityContext', SecurityContext],
    16: ['stdin', 'bool'],
    17: ['stdinOnce', 'bool'],
    18: ['tty', 'bool'],
  });
const Container = containerFields('Container');
const EphemeralContainer = message('EphemeralContainer', {
  1: ['', containerFields('EphemeralContainerCommon'), 'i'],
  2: ['targetContainerName', 'string'],
});
const Toleration = message('Toleration', {
  1: ['key', 'string'],
  2: ['operator', 'string'],
  3: ['value', 'string'],
  4: ['effect', 'string'],
  5: ['tolerationSeconds', 'int64', 'k'],
});
const PodSecurityContext = message('PodSecurityContext', {
  2: ['runAsUser', 'int64', 'k'],
  6: ['runAsGroup', 'int64', 'k'],
  3: ['runAsNonRoot', 'bool', 'k'],
  4: ['supplementalGroups', 'int64', 'r'],
  12: ['supplementalGroupsPolicy', 'string', 'k'],
  5: ['fsGroup', 'int64', 'k'],
  9: ['fsGroupChangePolicy', 'string', 'k'],
  10: ['seccompProfile', SeccompProfile],
});
const PodSpec = message('PodSpec', {
  1: ['volumes', Volume, 'r'],
  20: ['initContainers', Container, 'r'],
  2: ['containers', Container, 'r'],
  34: ['ephemeralContainers', EphemeralContainer, 'r'],
  3: ['restartPolicy', 'string'],
  4: ['terminationGracePeriodSeconds', 'int64', 'k'],
  5: ['activeDeadlineSeconds', 'int64', 'k'],
  6: ['dnsPolicy', 'string'],
  7: ['nodeSelector', mapOf('string')],
  8: ['serviceAccountName', 'string'],
  9: ['serviceAccount', 'string'],
  21: ['automountServiceAccountToken', 'bool', 'k'],
  10: ['nodeName', 'string'],
  11: ['hostNetwork', 'bool'],
  12: ['hostPID', 'bool'],
  13: ['hostIPC', 'bool'],
  27: ['shareProcessNamespace', 'bool', 'k'],
  14: ['securityContext', PodSecurityContext],
  15: ['imagePullSecrets', LocalObjectReference, 'r'],
  16: ['hostname', 'string'],
  17: ['subdomain', 'string'],
  19: ['schedulerName', 'string'],
  22: ['tolerations', Toleration, 'r'],
  24: ['priorityClassName', 'string'],
  25: ['priority', 'int32', 'k'],
  29: ['runtimeClassName', 'string', 'k'],
  30: ['enableServiceLinks', 'bool', 'k'],
  31: ['preemptionPolicy', 'string', 'k'],
  32: ['overhead', mapOf('quantity')],
  35: ['setHostnameAsFQDN', 'bool', 'k'],
  36: ['os', message('PodOS', { 1: ['name', 'string', 'k'] })],
  37: ['hostUsers', 'bool', 'k'],
});
const PodTemplateSpec = message('PodTemplateSpec', { 1: ['metadata', ObjectMeta], 2: ['spec', PodSpec] });
const Pod = message('Pod', { 1: ['metadata', ObjectMeta], 2: ['spec', PodSpec], 3: ['status', status('Pod')] });

// ---- apps/v1, batch/v1 ------------------------------------------------------------------------------
const Deployment = message('Deployment', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('DeploymentSpec', {
      1: ['replicas', 'int32', 'k'],
      2: ['selector', LabelSelector],
      3: ['template', PodTemplateSpec],
      4: [
        'strategy',
        message('DeploymentStrategy', {
          1: ['type', 'string'],
          2: ['rollingUpdate', message('RollingUpdateDeployment', { 1: ['maxUnavailable', 'intstr'], 2: ['maxSurge', 'intstr'] })],
        }),
      ],
      5: ['minReadySeconds', 'int32'],
      6: ['revisionHistoryLimit', 'int32', 'k'],
      7: ['paused', 'bool'],
      9: ['progressDeadlineSeconds', 'int32', 'k'],
    }),
  ],
  3: ['status', status('Deployment')],
});
const JobSpec = message('JobSpec', {
  1: ['parallelism', 'int32', 'k'],
  2: ['completions', 'int32', 'k'],
  3: ['activeDeadlineSeconds', 'int64', 'k'],
  11: [
    'podFailurePolicy',
    message('PodFailurePolicy', {
      1: [
        'rules',
        message('PodFailurePolicyRule', {
          1: ['action', 'string', 'k'],
          2: [
            'onExitCodes',
            message('PodFailurePolicyOnExitCodesRequirement', { 1: ['containerName', 'string', 'k'], 2: ['operator', 'string', 'k'], 3: ['values', 'int32', 'r'] }),
          ],
          3: ['onPodConditions', message('PodFailurePolicyOnPodConditionsPattern', { 1: ['type', 'string', 'k'], 2: ['status', 'string', 'k'] }), 'r'],
        }),
        'r',
      ],
    }),
  ],
  16: [
    'successPolicy',
    message('SuccessPolicy', { 1: ['rules', message('SuccessPolicyRule', { 1: ['succeededIndexes', 'string', 'k'], 2: ['succeededCount', 'int32', 'k'] }), 'r'] }),
  ],
  7: ['backoffLimit', 'int32', 'k'],
  12: ['backoffLimitPerIndex', 'int32', 'k'],
  13: ['maxFailedIndexes', 'int32', 'k'],
  4: ['selector', LabelSelector],
  5: ['manualSelector', 'bool', 'k'],
  6: ['template', PodTemplateSpec],
  8: ['ttlSecondsAfterFinished', 'int32', 'k'],
  9: ['completionMode', 'string', 'k'],
  10: ['suspend', 'bool', 'k'],
  14: ['podReplacementPolicy', 'string', 'k'],
  15: ['managedBy', 'string', 'k'],
});
const Job = message('Job', { 1: ['metadata', ObjectMeta], 2: ['spec', JobSpec], 3: ['status', status('Job')] });
const CronJob = message('CronJob', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('CronJobSpec', {
      1: ['schedule', 'string', 'k'],
      8: ['timeZone', 'string', 'k'],
      2: ['startingDeadlineSeconds', 'int64', 'k'],
      3: ['concurrencyPolicy', 'string'],
      4: ['suspend', 'bool', 'k'],
      5: ['jobTemplate', message('JobTemplateSpec', { 1: ['metadata', ObjectMeta], 2: ['spec', JobSpec] })],
      6: ['successfulJobsHistoryLimit', 'int32', 'k'],
      7: ['failedJobsHistoryLimit', 'int32', 'k'],
    }),
  ],
  3: ['status', status('CronJob')],
});

// ---- authentication, authorization ----------------------------------------------------------------
const TokenRequest = message('TokenRequest', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('TokenRequestSpec', {
      1: ['audiences', 'string', 'r'],
      4: ['expirationSeconds', 'int64', 'k'],
      3: [
        'boundObjectRef',
        message('BoundObjectReference', { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] }),
      ],
    }),
  ],
  3: ['status', status('TokenRequest')],
});
const TokenReview = message('TokenReview', {
  1: ['metadata', ObjectMeta],
  2: ['spec', message('TokenReviewSpec', { 1: ['token', 'string'], 2: ['audiences', 'string', 'r'] })],
  3: ['status', status('TokenReview')],
});
const SelfSubjectReview = message('SelfSubjectReview', { 1: ['metadata', ObjectMeta], 2: ['status', status('SelfSubjectReview')] });
const selectorAttributes = (name: string) =>
  message(name, { 1: ['rawSelector', 'string'], 2: ['requirements', LabelSelectorRequirement, 'r'] });
const ResourceAttributes = message('ResourceAttributes', {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
  8: ['fieldSelector', selectorAttributes('FieldSelectorAttributes')],
  9: ['labelSelector', selectorAttributes('LabelSelectorAttributes')],
});
const NonResourceAttributes = message('NonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] });
const SubjectAccessReviewSpec = message('SubjectAccessReviewSpec', {
  1: ['resourceAttributes', ResourceAttributes],
  2: ['nonResourceAttributes', NonResourceAttributes],
  3: ['user', 'string'],
  4: ['groups', 'string', 'r'],
  5: ['extra', mapOf('stringlist')],
  6: ['uid', 'string'],
});
const accessReview = (kind: string) =>
  message(kind, { 1: ['metadata', ObjectMeta], 2: ['spec', SubjectAccessReviewSpec], 3: ['status', status('SubjectAccessReview')] });
const SelfSubjectAccessReview = message('SelfSubjectAccessReview', {
  1: ['metadata', ObjectMeta],
  2: ['spec', message('SelfSubjectAccessReviewSpec', { 1: ['resourceAttributes', ResourceAttributes], 2: ['nonResourceAttributes', NonResourceAttributes] })],
  3: ['status', status('SubjectAccessReview')],
});
const SelfSubjectRulesReview = message('SelfSubjectRulesReview', {
  1: ['metadata', ObjectMeta],
  2: ['spec', message('SelfSubjectRulesReviewSpec', { 1: ['namespace', 'string'] })],
  3: ['status', status('SubjectRulesReview')],
});

// ---- scheduling, policy, networking, autoscaling --------------------------------------------------
const PriorityClass = message('PriorityClass', {
  1: ['metadata', ObjectMeta],
  2: ['value', 'int32', 'k'],
  3: ['globalDefault', 'bool'],
  4: ['description', 'string'],
  5: ['preemptionPolicy', 'string', 'k'],
});
const PodDisruptionBudget = message('PodDisruptionBudget', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('PodDisruptionBudgetSpec', {
      1: ['minAvailable', 'intstr'],
      2: ['selector', LabelSelector],
      3: ['maxUnavailable', 'intstr'],
      4: ['unhealthyPodEvictionPolicy', 'string', 'k'],
    }),
  ],
  3: ['status', status('PodDisruptionBudget')],
});
const IngressBackend = message('IngressBackend', {
  4: [
    'service',
    message('IngressServiceBackend', {
      1: ['name', 'string', 'k'],
      2: ['port', message('ServiceBackendPort', { 1: ['name', 'string'], 2: ['number', 'int32'] })],
    }),
  ],
  3: ['resource', message('TypedLocalObjectReference', { 1: ['apiGroup', 'string', 'k'], 2: ['kind', 'string', 'k'], 3: ['name', 'string', 'k'] })],
});
const HTTPIngressPath = message('HTTPIngressPath', { 1: ['path', 'string'], 3: ['pathType', 'string', 'k'], 2: ['backend', IngressBackend] });
const IngressRule = message('IngressRule', {
  1: ['host', 'string'],
  2: ['', message('IngressRuleValue', { 1: ['http', message('HTTPIngressRuleValue', { 1: ['paths', HTTPIngressPath, 'r'] })] }), 'i'],
});
const Ingress = message('Ingress', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('IngressSpec', {
      4: ['ingressClassName', 'string', 'k'],
      1: ['defaultBackend', IngressBackend],
      2: ['tls', message('IngressTLS', { 1: ['hosts', 'string', 'r'], 2: ['secretName', 'string'] }), 'r'],
      3: ['rules', IngressRule, 'r'],
    }),
  ],
  3: ['status', status('Ingress')],
});
const HorizontalPodAutoscaler = message('HorizontalPodAutoscaler', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('HorizontalPodAutoscalerSpec', {
      1: [
        'scaleTargetRef',
        message('CrossVersionObjectReference', { 1: ['kind', 'string', 'k'], 2: ['name', 'string', 'k'], 3: ['apiVersion', 'string'] }),
      ],
      2: ['minReplicas', 'int32', 'k'],
      3: ['maxReplicas', 'int32', 'k'],
      4: ['targetCPUUtilizationPercentage', 'int32', 'k'],
    }),
  ],
  3: ['status', status('HorizontalPodAutoscaler')],
});

/** "apiVersion/Kind" → the kind's message. */
export const PROTOBUF_KINDS: ReadonlyMap<string, MessageSchema> = new Map([
  ['rbac.authorization.k8s.io/v1/Role', Role],
  ['rbac.authorization.k8s.io/v1/ClusterRole', ClusterRole],
  ['rbac.authorization.k8s.io/v1/RoleBinding', binding('RoleBinding')],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', binding('ClusterRoleBinding')],
  ['v1/Namespace', Namespace],
  ['v1/ServiceAccount', ServiceAccount],
  ['v1/ConfigMap', ConfigMap],
  ['v1/Secret', Secret],
  ['v1/ResourceQuota', ResourceQuota],
  ['v1/Service', Service],
  ['v1/Pod', Pod],
  ['policy/v1/Eviction', Eviction],
  ['apps/v1/Deployment', Deployment],
  ['batch/v1/Job', Job],
  ['batch/v1/CronJob', CronJob],
  ['authentication.k8s.io/v1/TokenRequest', TokenRequest],
  ['authentication.k8s.io/v1/TokenReview', TokenReview],
  ['authentication.k8s.io/v1/SelfSubjectReview', SelfSubjectReview],
  ['authorization.k8s.io/v1/SubjectAccessReview', accessReview('SubjectAccessReview')],
  ['authorization.k8s.io/v1/LocalSubjectAccessReview', accessReview('LocalSubjectAccessReview')],
  ['authorization.k8s.io/v1/SelfSubjectAccessReview', SelfSubjectAccessReview],
  ['authorization.k8s.io/v1/SelfSubjectRulesReview', SelfSubjectRulesReview],
  ['scheduling.k8s.io/v1/PriorityClass', PriorityClass],
  ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
  ['networking.k8s.io/v1/Ingress', Ingress],
  ['autoscaling/v1/HorizontalPodAutoscaler', HorizontalPodAutoscaler],
]);

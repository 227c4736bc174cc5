/**
 * Table columns and cells per kind, as kube-apiserver renders them for `Accept: …;as=Table` (what
 * `kubectl get` prints). Each entry ports the printer of upstream's pkg/printers/internalversion/printers.go
 * for that kind: the same column names, types, formats, descriptions and priorities (1 = only with
 * `-o wide`), and the same cell text, including "<none>", "<unknown>" and the STATUS logic of pods.
 *
 * The server always renders every column (upstream's storage table convertor prints with Wide: true);
 * kubectl hides priority-1 columns itself. Printers read the v1 JSON we store, which upstream would
 * first convert to its internal types; where that conversion or defaulting supplies a value (a
 * Service's clusterIPs from clusterIP, replicas defaulting to 1), we supply it the same way.
 *
 * Cells are pure functions of the object and `now`, and never throw: a printer reads every field
 * through the accessors below, so a missing status or a field of the wrong type prints like its zero value.
 */
import type { KubeObject, TableColumn, TableDef } from './types.js';
import { formatLabelSelector, formatLabels, labelSelectorToString } from './selectors.js';

/**
 * Column descriptions: upstream takes them from the API types' Go doc comments (SwaggerDoc()), often of
 * older API versions (extensions/v1beta1 for ReplicaSet, say); these are the k8s.io/api v0.33 texts.
 */
const DOC = {
  "meta/v1.ObjectMeta.name": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  "meta/v1.ObjectMeta.creationTimestamp": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  "meta/v1.Status.status": "Status of the operation. One of: \"Success\" or \"Failure\". More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status",
  "meta/v1.Status.reason": "A machine-readable description of why this operation is in the \"Failure\" status. If this value is empty there is no information available. A Reason clarifies an HTTP status code but does not override it.",
  "core/v1.PodStatus.podIP": "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
  "core/v1.PodStatus.nominatedNodeName": "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
  "core/v1.PodSpec.nodeName": "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
  "core/v1.PodSpec.readinessGates": "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
  "core/v1.PodSpec.nodeSelector": "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
  "core/v1.ReplicationControllerSpec.replicas": "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
  "core/v1.ReplicationControllerSpec.selector": "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
  "core/v1.ReplicationControllerStatus.replicas": "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
  "core/v1.ReplicationControllerStatus.readyReplicas": "The number of ready replicas for this replication controller.",
  "core/v1.ServiceSpec.type": "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
  "core/v1.ServiceSpec.clusterIP": "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
  "core/v1.ServiceSpec.externalIPs": "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
  "core/v1.ServiceSpec.ports": "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
  "core/v1.ServiceSpec.selector": "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
  "core/v1.Endpoints.subsets": "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
  "core/v1.NodeSystemInfo.kubeletVersion": "Kubelet Version reported by the node.",
  "core/v1.NodeSystemInfo.osImage": "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
  "core/v1.NodeSystemInfo.kernelVersion": "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
  "core/v1.NodeSystemInfo.containerRuntimeVersion": "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
  "core/v1.NodeStatus.addresses": "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
  "core/v1.Event.lastTimestamp": "The time at which the most recent occurrence of this event was recorded.",
  "core/v1.Event.type": "Type of this event (Normal, Warning), new types could be added in the future",
  "core/v1.Event.reason": "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  "core/v1.Event.involvedObject": "The object that this event is about.",
  "core/v1.Event.source": "The component reporting this event. Should be a short machine understandable string.",
  "core/v1.Event.message": "A human-readable description of the status of this operation.",
  "core/v1.Event.firstTimestamp": "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
  "core/v1.Event.count": "The number of times this event has occurred.",
  "core/v1.ObjectReference.fieldPath": "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
  "core/v1.Secret.type": "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
  "core/v1.Secret.data": "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
  "core/v1.ServiceAccount.secrets": "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
  "core/v1.PersistentVolumeSpec.capacity": "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity",
  "core/v1.PersistentVolumeSpec.accessModes": "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes",
  "core/v1.PersistentVolumeSpec.persistentVolumeReclaimPolicy": "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming",
  "core/v1.PersistentVolumeSpec.claimRef": "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding",
  "core/v1.PersistentVolumeSpec.volumeMode": "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.",
  "core/v1.PersistentVolumeStatus.phase": "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase",
  "core/v1.PersistentVolumeStatus.reason": "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
  "core/v1.PersistentVolumeClaimStatus.phase": "phase represents the current phase of PersistentVolumeClaim.",
  "core/v1.PersistentVolumeClaimStatus.capacity": "capacity represents the actual resources of the underlying volume.",
  "core/v1.PersistentVolumeClaimStatus.accessModes": "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1",
  "core/v1.PersistentVolumeClaimSpec.volumeName": "volumeName is the binding reference to the PersistentVolume backing this claim.",
  "core/v1.PersistentVolumeClaimSpec.volumeMode": "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.",
  "core/v1.ConfigMap.data": "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
  "extensions/v1beta1.ReplicaSetSpec.replicas": "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
  "extensions/v1beta1.ReplicaSetSpec.selector": "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
  "extensions/v1beta1.ReplicaSetStatus.replicas": "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
  "extensions/v1beta1.ReplicaSetStatus.readyReplicas": "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
  "extensions/v1beta1.DaemonSetStatus.desiredNumberScheduled": "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
  "extensions/v1beta1.DaemonSetStatus.currentNumberScheduled": "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
  "extensions/v1beta1.DaemonSetStatus.numberReady": "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
  "extensions/v1beta1.DaemonSetStatus.updatedNumberScheduled": "The total number of nodes that are running updated daemon pod",
  "extensions/v1beta1.DaemonSetStatus.numberAvailable": "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
  "extensions/v1beta1.DaemonSetSpec.selector": "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
  "extensions/v1beta1.DeploymentStatus.updatedReplicas": "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
  "extensions/v1beta1.DeploymentStatus.availableReplicas": "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
  "extensions/v1beta1.DeploymentSpec.selector": "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
  "extensions/v1beta1.NetworkPolicySpec.podSelector": "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.",
  "batch/v1.JobStatus.succeeded": "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
  "batch/v1.JobSpec.selector": "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
  "batch/v1beta1.CronJobSpec.schedule": "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
  "batch/v1beta1.CronJobSpec.timeZone": "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
  "batch/v1beta1.CronJobSpec.suspend": "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
  "batch/v1beta1.CronJobStatus.active": "A list of pointers to currently running jobs.",
  "batch/v1beta1.CronJobStatus.lastScheduleTime": "Information when was the last time the job was successfully scheduled.",
  "autoscaling/v2beta1.HorizontalPodAutoscalerSpec.scaleTargetRef": "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.",
  "autoscaling/v2beta1.HorizontalPodAutoscalerSpec.metrics": "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond.",
  "autoscaling/v2beta1.HorizontalPodAutoscalerSpec.minReplicas": "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.",
  "autoscaling/v2beta1.HorizontalPodAutoscalerSpec.maxReplicas": "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.",
  "autoscaling/v2beta1.HorizontalPodAutoscalerStatus.currentReplicas": "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.",
  "rbac/v1beta1.RoleBinding.roleRef": "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
  "rbac/v1beta1.ClusterRoleBinding.roleRef": "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
  "certificates/v1beta1.CertificateSigningRequestSpec.signerName": "Requested signer for the request. It is a qualified name in the form: `scope-hostname.io/name`. If empty, it will be defaulted:\n 1. If it's a kubelet client certificate, it is assigned\n    \"kubernetes.io/kube-apiserver-client-kubelet\".\n 2. If it's a kubelet serving certificate, it is assigned\n    \"kubernetes.io/kubelet-serving\".\n 3. Otherwise, it is assigned \"kubernetes.io/legacy-unknown\".\nDistribution of trust for signers happens out of band. You can select on this field using `spec.signerName`.",
  "certificates/v1beta1.CertificateSigningRequestSpec.request": "Base64-encoded PKCS#10 CSR data",
  "certificates/v1beta1.CertificateSigningRequestSpec.expirationSeconds": "expirationSeconds is the requested duration of validity of the issued certificate. The certificate signer may issue a certificate with a different validity duration so a client must check the delta between the notBefore and and notAfter fields in the issued certificate to determine the actual duration.\n\nThe v1.22+ in-tree implementations of the well-known Kubernetes signers will honor this field as long as the requested duration is not greater than the maximum duration they will honor per the --cluster-signing-duration CLI flag to the Kubernetes controller manager.\n\nCertificate signers may not honor this field for various reasons:\n\n  1. Old signer that is unaware of the field (such as the in-tree\n     implementations prior to v1.22)\n  2. Signer whose configured maximum is shorter than the requested duration\n  3. Signer whose configured minimum is longer than the requested duration\n\nThe minimum valid value for expirationSeconds is 600, i.e. 10 minutes.",
  "certificates/v1beta1.CertificateSigningRequestStatus.conditions": "Conditions applied to the request, such as approval or denial.",
  "coordination/v1.LeaseSpec.holderIdentity": "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
  "storage/v1.StorageClass.provisioner": "provisioner indicates the type of the provisioner.",
  "storage/v1.StorageClass.reclaimPolicy": "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.",
  "storage/v1.StorageClass.volumeBindingMode": "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.",
  "storage/v1.StorageClass.allowVolumeExpansion": "allowVolumeExpansion shows whether the storage class allow volume expand.",
  "storage/v1.CSIDriverSpec.attachRequired": "attachRequired indicates this CSI volume driver requires an attach operation (because it implements the CSI ControllerPublishVolume() method), and that the Kubernetes attach detach controller should call the attach volume interface which checks the volumeattachment status and waits until the volume is attached before proceeding to mounting. The CSI external-attacher coordinates with CSI volume driver and updates the volumeattachment status when the attach operation is complete. If the CSIDriverRegistry feature gate is enabled and the value is specified to false, the attach operation will be skipped. Otherwise the attach operation will be called.\n\nThis field is immutable.",
  "storage/v1.CSIDriverSpec.podInfoOnMount": "podInfoOnMount indicates this CSI volume driver requires additional pod information (like podName, podUID, etc.) during mount operations, if set to true. If set to false, pod information will not be passed on mount. Default is false.\n\nThe CSI driver specifies podInfoOnMount as part of driver deployment. If true, Kubelet will pass pod information as VolumeContext in the CSI NodePublishVolume() calls. The CSI driver is responsible for parsing and validating the information passed in as VolumeContext.\n\nThe following VolumeContext will be passed if podInfoOnMount is set to true. This list might grow, but the prefix will be used. \"csi.storage.k8s.io/pod.name\": pod.Name \"csi.storage.k8s.io/pod.namespace\": pod.Namespace \"csi.storage.k8s.io/pod.uid\": string(pod.UID) \"csi.storage.k8s.io/ephemeral\": \"true\" if the volume is an ephemeral inline volume\n                                defined by a CSIVolumeSource, otherwise \"false\"\n\n\"csi.storage.k8s.io/ephemeral\" is a new feature in Kubernetes 1.16. It is only required for drivers which support both the \"Persistent\" and \"Ephemeral\" VolumeLifecycleMode. Other drivers can leave pod info disabled and/or ignore this field. As Kubernetes 1.15 doesn't support this field, drivers can only support one mode when deployed on such a cluster and the deployment determines which mode that is, for example via a command line parameter of the driver.\n\nThis field was immutable in Kubernetes < 1.29 and now is mutable.",
  "storage/v1.CSIDriverSpec.storageCapacity": "storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity that the driver deployment will report by creating CSIStorageCapacity objects with capacity information, if set to true.\n\nThe check can be enabled immediately when deploying a driver. In that case, provisioning new volumes with late binding will pause until the driver deployment has published some suitable CSIStorageCapacity object.\n\nAlternatively, the driver can be deployed with the field unset or false and it can be flipped later when storage capacity information has been published.\n\nThis field was immutable in Kubernetes <= 1.22 and now is mutable.",
  "storage/v1.CSIDriverSpec.tokenRequests": "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting volume for to do necessary authentication. Kubelet will pass the tokens in VolumeContext in the CSI NodePublishVolume calls. The CSI driver should parse and validate the following VolumeContext: \"csi.storage.k8s.io/serviceAccount.tokens\": {\n  \"<audience>\": {\n    \"token\": <token>,\n    \"expirationTimestamp\": <expiration timestamp in RFC3339>,\n  },\n  ...\n}\n\nNote: Audience in each TokenRequest should be different and at most one token is empty string. To receive a new token after expiry, RequiresRepublish can be used to trigger NodePublishVolume periodically.",
  "storage/v1.CSIDriverSpec.requiresRepublish": "requiresRepublish indicates the CSI driver wants `NodePublishVolume` being periodically called to reflect any possible change in the mounted volume. This field defaults to false.\n\nNote: After a successful initial NodePublishVolume call, subsequent calls to NodePublishVolume should only update the contents of the volume. New mount points will not be seen by a running container.",
  "storage/v1.CSIDriverSpec.volumeLifecycleModes": "volumeLifecycleModes defines what kind of volumes this CSI volume driver supports. The default if the list is empty is \"Persistent\", which is the usage defined by the CSI specification and implemented in Kubernetes via the usual PV/PVC mechanism.\n\nThe other mode is \"Ephemeral\". In this mode, volumes are defined inline inside the pod spec with CSIVolumeSource and their lifecycle is tied to the lifecycle of that pod. A driver has to be aware of this because it is only going to get a NodePublishVolume call for such a volume.\n\nFor more information about implementing this mode, see https://kubernetes-csi.github.io/docs/ephemeral-local-volumes.html A driver can support one or more of these modes and more modes may be added in the future.\n\nThis field is beta. This field is immutable.",
  "storage/v1.VolumeAttachmentSpec.attacher": "attacher indicates the name of the volume driver that MUST handle this request. This is the name returned by GetPluginName().",
  "storage/v1.VolumeAttachmentSpec.nodeName": "nodeName represents the node that the volume should be attached to.",
  "storage/v1.VolumeAttachmentSource.persistentVolumeName": "persistentVolumeName represents the name of the persistent volume to attach.",
  "storage/v1.VolumeAttachmentStatus.attached": "attached indicates the volume is successfully attached. This field must only be set by the entity completing the attach operation, i.e. the external-attacher.",
  "autoscaling/v1.ScaleSpec.replicas": "replicas is the desired number of instances for the scaled object.",
  "autoscaling/v1.ScaleStatus.replicas": "replicas is the actual number of observed instances of the scaled object.",
  "apps/v1beta1.ControllerRevision.revision": "revision indicates the revision of the state represented by Data.",
  "scheduling/v1.PriorityClass.value": "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.",
  "scheduling/v1.PriorityClass.globalDefault": "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.",
  "scheduling/v1.PriorityClass.preemptionPolicy": "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
  "discovery/v1beta1.EndpointSlice.addressType": "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.",
  "discovery/v1beta1.EndpointSlice.ports": "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
  "discovery/v1beta1.EndpointSlice.endpoints": "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
} as const;

// ── safe accessors: every read of the object goes through one of these ──

type Obj = Record<string, any>;
const EMPTY: Obj = Object.freeze({});
/** A nested object, or an empty one when the field is absent or not an object. */
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : EMPTY);
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** An integer field, 0 when absent (Go's zero value). */
const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0);
const count = (v: unknown): number => Object.keys(obj(v)).length;
const present = (v: unknown): boolean => v !== undefined && v !== null;

/** Go's zero time, which metav1.Time.IsZero reports alongside a missing timestamp. */
const GO_ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');

/** Milliseconds since the epoch, or undefined for an absent, unparsable or zero timestamp. */
function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) || t === GO_ZERO_TIME ? undefined : t;
}

/**
 * Upstream's duration.HumanDuration: about two significant figures, e.g. 45s, 3m20s, 25m, 5h10m,
 * 2d3h, 150d, 3y40d, 10y. Up to a second in the future still reads "0s" (clock skew), beyond is "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const dy = days % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/** Upstream's translateTimestampSince: the age of a timestamp, "<unknown>" when absent or zero. */
export function formatAge(from: string | undefined, now: Date): string {
  const t = parseTime(from);
  return t === undefined ? '<unknown>' : humanDuration(now.getTime() - t);
}

const nameOf = (o: KubeObject) => str(obj(o.metadata).name);
const deleting = (o: KubeObject) => present(obj(o.metadata).deletionTimestamp);
/** A *string field: as is when set (even empty), `unset` when absent. */
const strOr = (v: unknown, unset: string) => (typeof v === 'string' ? v : unset);
/** spec.replicas defaults to 1; a stored object always has it. */
const replicasOf = (spec: Obj) => (typeof spec.replicas === 'number' ? int(spec.replicas) : 1);

// ── rows ──

/** One object as its printer reads it: spec and status are objects even when absent. */
interface Row {
  readonly o: KubeObject;
  readonly now: Date;
  readonly spec: Obj;
  readonly status: Obj;
  /** The Name cell. */
  readonly name: string;
  /** The Age cell: the time since creation. */
  readonly age: string;
}

function rowOf(o: KubeObject, now: Date): Row {
  return {
    o,
    now,
    spec: obj(o.spec),
    status: obj(o.status),
    // Getters: several kinds print no Age, and a few print their name their own way.
    get name() {
      return nameOf(o);
    },
    get age() {
      return formatAge(obj(o.metadata).creationTimestamp, now);
    },
  };
}

// ── columns ──

function col(name: string, type: TableColumn['type'], description: string, priority = 0, format = ''): TableColumn {
  return { name, type, format, description, priority };
}
const wide = (name: string, description: string, type: TableColumn['type'] = 'string') => col(name, type, description, 1);

const NAME = col('Name', 'string', DOC['meta/v1.ObjectMeta.name'], 0, 'name');
export const NAME_COLUMN = NAME;
const AGE = col('Age', 'string', DOC['meta/v1.ObjectMeta.creationTimestamp']);
const CONTAINERS = wide('Containers', 'Names of each container in the template.');
const IMAGES = wide('Images', 'Images referenced by each container in the template.');

/** A kind's table as data: its columns, and its cells for one row in the same order. */
function table(columns: TableColumn[], cells: (r: Row) => unknown[]): TableDef {
  return { columns, cells: (o, now) => cells(rowOf(o, now)) };
}

/** The many kinds that print one column of their own between Name and Age. */
function oneColumn(column: TableColumn, cell: (r: Row) => unknown): TableDef {
  return table([NAME, column, AGE], (r) => [r.name, cell(r), r.age]);
}

/**
 * The columns workload printers end with (ReplicaSet, DaemonSet, Job, CronJob, Deployment,
 * StatefulSet): Age, the pod template's containers and images, and, wide, the selector (which
 * StatefulSet does not print).
 */
function workloadColumns(selectorDoc?: string): TableColumn[] {
  return selectorDoc === undefined ? [AGE, CONTAINERS, IMAGES] : [AGE, CONTAINERS, IMAGES, wide('Selector', selectorDoc)];
}

/** The cells for workloadColumns, from the pod template's spec and the selector as the kind prints it. */
function workloadCells(r: Row, podSpec: unknown, selector?: string): unknown[] {
  return selector === undefined ? [r.age, ...containerCells(podSpec)] : [r.age, ...containerCells(podSpec), selector];
}

/** The pod spec of a workload's template (spec.template.spec). */
const templateSpec = (spec: Obj): Obj => obj(obj(spec.template).spec);

// ── shared formatting ──

/** Container names and images of a pod template, comma-joined (upstream's layoutContainerCells). */
function containerCells(podSpec: unknown): [string, string] {
  const cs = arr(obj(podSpec).containers);
  return [cs.map((c) => str(obj(c).name)).join(','), cs.map((c) => str(obj(c).image)).join(',')];
}

/** An IntOrString as Go's String(): an int in decimal, a string as is. */
function intOrString(v: unknown): string {
  return typeof v === 'number' ? String(Math.trunc(v)) : str(v);
}

/** A resource.Quantity as stored; Go prints a zero Quantity as "0" and a nil *Quantity as "<nil>". */
function quantity(v: unknown, absent = '0'): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return absent;
}

/** net.JoinHostPort: IPv6 addresses are bracketed. */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The first `max` items joined by ",", then " + N more..." (upstream's listWithMoreString). */
function listWithMore(list: string[], more: boolean, total: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${total - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

/** Distinct IPs or hostnames of a load balancer's ingress points, sorted (sets.String.List()). */
function loadBalancerIngress(lb: unknown): string {
  const set = new Set<string>();
  for (const ing of arr(obj(lb).ingress)) {
    const i = obj(ing);
    if (str(i.ip) !== '') set.add(str(i.ip));
    else if (str(i.hostname) !== '') set.add(str(i.hostname));
  }
  return [...set].sort().join(',');
}

/** Like Go's sort of strings: bytewise, which for ASCII equals code-unit order. */
const sorted = (xs: Iterable<string>) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Deployment prints LabelSelectorAsSelector(...).String() directly: "" when empty, "<invalid>" on error. */
function selectorString(sel: unknown): string {
  try {
    return labelSelectorToString(present(sel) ? (obj(sel) as any) : null);
  } catch {
    return '<invalid>';
  }
}

const formatSelector = (sel: unknown) => formatLabelSelector(present(sel) ? (obj(sel) as any) : null);
const formatLabelMap = (m: unknown) => formatLabels(obj(m) as Record<string, string>);

/** Upstream's printBoolPtr. */
const boolPtr = (v: unknown) => (v === true ? 'True' : v === false ? 'False' : '<unset>');

/** helper.GetAccessModesAsString: distinct modes in a fixed order. */
function accessModes(modes: unknown): string {
  const set = new Set(arr(modes).map(str));
  const out: string[] = [];
  if (set.has('ReadWriteOnce')) out.push('RWO');
  if (set.has('ReadOnlyMany')) out.push('ROX');
  if (set.has('ReadWriteMany')) out.push('RWX');
  if (set.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/** The beta storage-class annotation still wins over spec.storageClassName, as upstream's helpers have it. */
function storageClassOf(o: KubeObject): string {
  const ann = obj(obj(o.metadata).annotations);
  if (typeof ann['volume.beta.kubernetes.io/storage-class'] === 'string') return ann['volume.beta.kubernetes.io/storage-class'];
  return str(obj(o.spec).storageClassName);
}

// ── Pod ──

const isRestartable = (c: unknown) => str(obj(c).restartPolicy) === 'Always';
const isTerminalPhase = (p: string) => p === 'Failed' || p === 'Succeeded';
const conditionTrue = (status: Obj, type: string) => arr(status.conditions).some((c) => str(obj(c).type) === type && str(obj(c).status) === 'True');

/** isPodInitializedConditionTrue: the first Initialized condition decides. */
function podInitialized(status: Obj): boolean {
  const c = arr(status.conditions).find((x) => str(obj(x).type) === 'Initialized');
  return c !== undefined && str(obj(c).status) === 'True';
}

/** metav1.Time.Before with undefined as the zero time. */
const before = (a: number | undefined, b: number | undefined) => b !== undefined && (a === undefined || a < b);

function terminatedReason(t: Obj, prefix: string): string {
  if (str(t.reason) !== '') return prefix + str(t.reason);
  return int(t.signal) !== 0 ? `${prefix}Signal:${int(t.signal)}` : `${prefix}ExitCode:${int(t.exitCode)}`;
}

function podCells(r: Row): unknown[] {
  const { o: pod, now, spec, status } = r;
  const initContainers = arr(spec.initContainers);
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = arr(spec.containers).length;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastRestartableInitRestart: number | undefined;

  const phase = str(status.phase);
  let reason = str(status.reason) !== '' ? str(status.reason) : phase;
  for (const c of arr(status.conditions)) {
    if (str(obj(c).type) === 'PodScheduled' && str(obj(c).reason) === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initByName = new Map<string, unknown>();
  for (const c of initContainers) {
    initByName.set(str(obj(c).name), c);
    // Sidecars (restartable init containers) count as containers of the pod.
    if (isRestartable(c)) totalContainers++;
  }

  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = obj(initStatuses[i]);
    const state = obj(cs.state);
    const restartable = isRestartable(initByName.get(str(cs.name)));
    restarts += int(cs.restartCount);
    const finished = parseTime(obj(obj(cs.lastState).terminated).finishedAt);
    if (present(obj(cs.lastState).terminated) && before(lastRestart, finished)) lastRestart = finished;
    if (restartable) {
      restartableInitRestarts += int(cs.restartCount);
      if (present(obj(cs.lastState).terminated) && before(lastRestartableInitRestart, finished)) lastRestartableInitRestart = finished;
    }
    const terminated = present(state.terminated) ? obj(state.terminated) : undefined;
    const waiting = present(state.waiting) ? obj(state.waiting) : undefined;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (restartable && cs.started === true) {
      if (cs.ready === true) readyContainers++;
      continue;
    }
    if (terminated) reason = terminatedReason(terminated, 'Init:');
    else if (waiting && str(waiting.reason) !== '' && str(waiting.reason) !== 'PodInitializing') reason = 'Init:' + str(waiting.reason);
    else reason = `Init:${i}/${initContainers.length}`;
    initializing = true;
    break;
  }

  if (!initializing || podInitialized(status)) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    // Last to first, so the first container's state has the last word, as upstream.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = obj(statuses[i]);
      const state = obj(cs.state);
      restarts += int(cs.restartCount);
      if (present(obj(cs.lastState).terminated)) {
        const finished = parseTime(obj(obj(cs.lastState).terminated).finishedAt);
        if (before(lastRestart, finished)) lastRestart = finished;
      }
      if (present(state.waiting) && str(obj(state.waiting).reason) !== '') reason = str(obj(state.waiting).reason);
      else if (present(state.terminated)) reason = terminatedReason(obj(state.terminated), '');
      else if (cs.ready === true && present(state.running)) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose first container completed while another still runs is not "Completed".
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status, 'Ready') ? 'Running' : 'NotReady';
  }

  if (deleting(pod) && str(status.reason) === 'NodeLost') reason = 'Unknown';
  else if (deleting(pod) && !isTerminalPhase(phase)) reason = 'Terminating';

  const restartsCell = restarts !== 0 && lastRestart !== undefined ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts);

  const ips = arr(status.podIPs);
  const podIP = (ips.length > 0 ? str(obj(ips[0]).ip) : str(status.podIP)) || '<none>';
  let readinessGates = '<none>';
  const gates = arr(spec.readinessGates);
  if (gates.length > 0) {
    let trueConditions = 0;
    for (const g of gates) {
      const c = arr(status.conditions).find((x) => str(obj(x).type) === str(obj(g).conditionType));
      if (c !== undefined && str(obj(c).status) === 'True') trueConditions++;
    }
    readinessGates = `${trueConditions}/${gates.length}`;
  }
  return [
    r.name,
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsCell,
    r.age,
    podIP,
    str(spec.nodeName) || '<none>',
    str(status.nominatedNodeName) || '<none>',
    readinessGates,
  ];
}

export interface TableRowCondition {
  type: 'Completed';
  status: 'True';
  reason: string;
  message: string;
}

/** Row conditions upstream attaches to a Table row: pods that finished are marked Completed. */
export function rowConditions(gk: string, o: KubeObject): TableRowCondition[] | undefined {
  if (gk !== 'Pod') return undefined;
  const phase = str(obj(o.status).phase);
  if (phase === 'Succeeded') return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
  if (phase === 'Failed') return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
  return undefined;
}

// ── Service ──

function serviceExternalIP(spec: Obj, status: Obj): string {
  const externalIPs = arr(spec.externalIPs).map(str);
  switch (str(spec.type)) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIngress(status.loadBalancer);
      if (externalIPs.length > 0) return [...(lb.length > 0 ? lb.split(',') : []), ...externalIPs].join(',');
      return lb.length > 0 ? lb : '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
  }
  return '<unknown>';
}

function servicePorts(ports: unknown): string {
  const s = arr(ports)
    .map((p) => {
      const port = obj(p);
      // Defaulting makes every stored port's protocol explicit; an undefaulted one would be TCP.
      const protocol = str(port.protocol) || 'TCP';
      return int(port.nodePort) > 0 ? `${int(port.port)}:${int(port.nodePort)}/${protocol}` : `${int(port.port)}/${protocol}`;
    })
    .join(',');
  return s === '' ? '<none>' : s;
}

function serviceCells(r: Row): unknown[] {
  const { spec } = r;
  const clusterIPs = arr(spec.clusterIPs);
  const clusterIP = (clusterIPs.length > 0 ? str(clusterIPs[0]) : str(spec.clusterIP)) || '<none>';
  return [r.name, str(spec.type), clusterIP, serviceExternalIP(spec, r.status), servicePorts(spec.ports), r.age, formatLabelMap(spec.selector)];
}

// ── Endpoints and EndpointSlice ──

function formatEndpoints(ep: KubeObject): string {
  const subsets = arr(ep.subsets);
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let total = 0;
  for (const ss of subsets.map(obj)) {
    const addresses = arr(ss.addresses).map(obj);
    const ports = arr(ss.ports).map(obj);
    if (ports.length === 0) {
      // Headless services may have no ports.
      total += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a.ip));
      }
      continue;
    }
    for (const port of ports) {
      total += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(str(a.ip), int(port.port)));
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${total - max} more...` : ret;
}

function formatSlicePorts(ports: unknown): string {
  const list: string[] = [];
  let more = false;
  let total = 0;
  for (const p of arr(ports).map(obj)) {
    if (list.length < 3) list.push(typeof p.port === 'number' ? String(int(p.port)) : typeof p.name === 'string' ? p.name : '*');
    else more = true;
    total++;
  }
  return listWithMore(list, more, total, 3);
}

function formatSliceEndpoints(endpoints: unknown): string {
  const list: string[] = [];
  let more = false;
  let total = 0;
  for (const e of arr(endpoints).map(obj)) {
    for (const address of arr(e.addresses)) {
      if (list.length < 3) list.push(str(address));
      else more = true;
      total++;
    }
  }
  return listWithMore(list, more, total, 3);
}

// ── Node ──

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';

function nodeCells(r: Row): unknown[] {
  const { o: node, status } = r;
  // The last Ready condition wins, as upstream collects conditions into a map by type.
  let ready: Obj | undefined;
  for (const c of arr(status.conditions)) if (str(obj(c).type) === 'Ready') ready = obj(c);
  const states = [ready === undefined ? 'Unknown' : str(ready.status) === 'True' ? 'Ready' : 'NotReady'];
  if (r.spec.unschedulable === true) states.push('SchedulingDisabled');

  const roles = new Set<string>();
  for (const [k, v] of Object.entries(obj(obj(node.metadata).labels))) {
    if (k.startsWith(NODE_ROLE_PREFIX)) {
      const role = k.slice(NODE_ROLE_PREFIX.length);
      if (role.length > 0) roles.add(role);
    } else if (k === 'kubernetes.io/role' && str(v) !== '') roles.add(str(v));
  }
  const info = obj(status.nodeInfo);
  const address = (type: string) => str(obj(arr(status.addresses).find((a) => str(obj(a).type) === type)).address) || '<none>';
  return [
    r.name,
    states.join(','),
    roles.size > 0 ? sorted(roles).join(',') : '<none>',
    r.age,
    str(info.kubeletVersion),
    address('InternalIP'),
    address('ExternalIP'),
    str(info.osImage) || '<unknown>',
    str(info.kernelVersion) || '<unknown>',
    str(info.containerRuntimeVersion) || '<unknown>',
  ];
}

// ── Event (core/v1, and events.k8s.io/v1 read as core) ──

interface EventFields {
  name: string;
  involvedObject: Obj;
  message: string;
  source: Obj;
  firstTimestamp: unknown;
  lastTimestamp: unknown;
  count: number;
  eventTime: unknown;
  series?: Obj;
  reportingController: string;
  reportingInstance: string;
  type: string;
  reason: string;
}

const coreEvent = (e: KubeObject): EventFields => ({
  name: nameOf(e),
  involvedObject: obj(e.involvedObject),
  message: str(e.message),
  source: obj(e.source),
  firstTimestamp: e.firstTimestamp,
  lastTimestamp: e.lastTimestamp,
  count: int(e.count),
  eventTime: e.eventTime,
  series: present(e.series) ? obj(e.series) : undefined,
  reportingController: str(e.reportingComponent),
  reportingInstance: str(e.reportingInstance),
  type: str(e.type),
  reason: str(e.reason),
});

/** events.k8s.io/v1 converted to the internal Event as upstream's conversion does. */
const eventsV1Event = (e: KubeObject): EventFields => ({
  name: nameOf(e),
  involvedObject: obj(e.regarding),
  message: str(e.note),
  source: obj(e.deprecatedSource),
  firstTimestamp: e.deprecatedFirstTimestamp,
  lastTimestamp: e.deprecatedLastTimestamp,
  count: int(e.deprecatedCount),
  eventTime: e.eventTime,
  series: present(e.series) ? obj(e.series) : undefined,
  reportingController: str(e.reportingController),
  reportingInstance: str(e.reportingInstance),
  type: str(e.type),
  reason: str(e.reason),
});

function eventCells(e: EventFields, now: Date): unknown[] {
  const first = parseTime(e.firstTimestamp) !== undefined ? formatAge(e.firstTimestamp as string, now) : formatAge(e.eventTime as string, now);
  let last = parseTime(e.lastTimestamp) !== undefined ? formatAge(e.lastTimestamp as string, now) : first;
  let n = e.count;
  if (e.series) {
    last = formatAge(e.series.lastObservedTime, now);
    n = int(e.series.count);
  } else if (n === 0) {
    // Events of the new API that happened once carry no count.
    n = 1;
  }
  const kind = str(e.involvedObject.kind).toLowerCase();
  const target = str(e.involvedObject.name).length > 0 ? `${kind}/${str(e.involvedObject.name)}` : kind;
  const component = str(e.source.component) || e.reportingController;
  const instance = str(e.source.host) || e.reportingInstance;
  return [
    last,
    e.type,
    e.reason,
    target,
    str(e.involvedObject.fieldPath),
    instance.length === 0 ? component : `${component}, ${instance}`,
    e.message.trim(),
    first,
    n,
    e.name,
  ];
}

// ── HorizontalPodAutoscaler ──

/** autoscaling/v1's single CPU target, as upstream's conversion turns it into a v2 Resource metric. */
function hpaMetrics(spec: Obj, status: Obj): [Obj[], Obj[]] {
  if (Array.isArray(spec.metrics)) return [spec.metrics.map(obj), arr(status.currentMetrics).map(obj)];
  if (typeof spec.targetCPUUtilizationPercentage !== 'number') return [[], []];
  const specs = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }];
  const current =
    typeof status.currentCPUUtilizationPercentage === 'number'
      ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } }]
      : [];
  return [specs, current];
}

function formatHPAMetrics(specs: Obj[], statuses: Obj[]): string {
  if (specs.length === 0) return '<none>';
  const list: string[] = [];
  const max = 2;
  specs.forEach((spec, i) => {
    const st = i < statuses.length ? statuses[i] : EMPTY;
    const valueOrAvg = (source: string) => {
      const target = obj(obj(spec[source]).target);
      const current = present(st[source]) ? obj(obj(st[source]).current) : undefined;
      if (present(target.averageValue)) {
        const cur = current && present(current.averageValue) ? quantity(current.averageValue) : '<unknown>';
        return `${cur}/${quantity(target.averageValue)} (avg)`;
      }
      const cur = current ? quantity(current.value, '<nil>') : '<unknown>';
      return `${cur}/${quantity(target.value, '<nil>')}`;
    };
    const resource = (source: string) => {
      const s = obj(spec[source]);
      const target = obj(s.target);
      const current = present(st[source]) ? obj(obj(st[source]).current) : undefined;
      if (present(target.averageValue)) {
        const cur = current ? quantity(current.averageValue, '<nil>') : '<unknown>';
        return `${str(s.name)}: ${cur}/${quantity(target.averageValue)}`;
      }
      const cur = current && typeof current.averageUtilization === 'number' ? `${int(current.averageUtilization)}%` : '<unknown>';
      const tgt = typeof target.averageUtilization === 'number' ? `${int(target.averageUtilization)}%` : '<auto>';
      return `${str(s.name)}: ${cur}/${tgt}`;
    };
    switch (str(spec.type)) {
      case 'External':
        list.push(valueOrAvg('external'));
        break;
      case 'Pods': {
        const cur = present(st.pods) ? quantity(obj(obj(st.pods).current).averageValue, '<nil>') : '<unknown>';
        list.push(`${cur}/${quantity(obj(obj(spec.pods).target).averageValue, '<nil>')}`);
        break;
      }
      case 'Object':
        list.push(valueOrAvg('object'));
        break;
      case 'Resource':
        list.push(resource('resource'));
        break;
      case 'ContainerResource':
        list.push(resource('containerResource'));
        break;
      default:
        list.push('<unknown type>');
    }
  });
  if (list.length > max) return `${list.slice(0, max).join(', ')} + ${list.length - max} more...`;
  return list.join(', ');
}

// ── ResourceQuota ──

function quotaColumns(status: Obj): [string, string] {
  const hard = obj(status.hard);
  const used = obj(status.used);
  const requests: string[] = [];
  const limits: string[] = [];
  for (const r of sorted(Object.keys(hard))) {
    const pieces = r.split('.');
    const target = pieces.length > 1 && pieces[0] === 'limits' ? limits : requests;
    target.push(`${r}: ${quantity(used[r])}/${quantity(hard[r])}`);
  }
  return [requests.join(', '), limits.join(', ')];
}

// ── RBAC ──

function subjectCells(subjects: unknown): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of arr(subjects).map(obj)) {
    if (s.kind === 'ServiceAccount') sas.push(`${str(s.namespace)}/${str(s.name)}`);
    else if (s.kind === 'User') users.push(str(s.name));
    else if (s.kind === 'Group') groups.push(str(s.name));
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}

function bindingTable(kind: 'roleBinding' | 'clusterRoleBinding', roleDoc: string): TableDef {
  return table(
    [
      NAME,
      col('Role', 'string', roleDoc),
      AGE,
      wide('Users', `Users in the ${kind}`),
      wide('Groups', `Groups in the ${kind}`),
      wide('ServiceAccounts', `ServiceAccounts in the ${kind}`),
    ],
    (r) => {
      const ref = obj(r.o.roleRef);
      return [r.name, `${str(ref.kind)}/${str(ref.name)}`, r.age, ...subjectCells(r.o.subjects)];
    },
  );
}

// ── CertificateSigningRequest ──

function csrCondition(o: KubeObject): string {
  let approved = false;
  let denied = false;
  let failed = false;
  for (const c of arr(obj(o.status).conditions)) {
    const type = str(obj(c).type);
    if (type === 'Approved') approved = true;
    else if (type === 'Denied') denied = true;
    else if (type === 'Failed') failed = true;
  }
  let s = denied ? 'Denied' : approved ? 'Approved' : 'Pending';
  if (failed) s += ',Failed';
  if (str(obj(o.status).certificate).length > 0) s += ',Issued';
  return s;
}

// ── ControllerRevision ──

function controllerName(o: KubeObject): string {
  const ref = arr(obj(o.metadata).ownerReferences)
    .map(obj)
    .find((r) => r.controller === true);
  if (!ref) return '<none>';
  const apiVersion = str(ref.apiVersion);
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const kind = str(ref.kind);
  if (kind === '' && group === '') return str(ref.name);
  return `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${str(ref.name)}`;
}

// ── the tables ──

const replicaSetTable = (desiredDoc: string, currentDoc: string, readyDoc: string, selectorDoc: string, mapSelector: boolean) =>
  table(
    [
      NAME,
      col('Desired', 'integer', desiredDoc),
      col('Current', 'integer', currentDoc),
      col('Ready', 'integer', readyDoc),
      ...workloadColumns(selectorDoc),
    ],
    (r) => {
      const { spec, status } = r;
      const selector = mapSelector ? formatLabelMap(spec.selector) : formatSelector(spec.selector);
      return [r.name, replicasOf(spec), int(status.replicas), int(status.readyReplicas), ...workloadCells(r, templateSpec(spec), selector)];
    },
  );

const eventColumns = [
  col('Last Seen', 'string', DOC['core/v1.Event.lastTimestamp']),
  col('Type', 'string', DOC['core/v1.Event.type']),
  col('Reason', 'string', DOC['core/v1.Event.reason']),
  col('Object', 'string', DOC['core/v1.Event.involvedObject']),
  wide('Subobject', DOC['core/v1.ObjectReference.fieldPath']),
  wide('Source', DOC['core/v1.Event.source']),
  col('Message', 'string', DOC['core/v1.Event.message']),
  wide('First Seen', DOC['core/v1.Event.firstTimestamp']),
  wide('Count', DOC['core/v1.Event.count']),
  col('Name', 'string', DOC['meta/v1.ObjectMeta.name'], 1, 'name'),
];

/** Both admission webhook configurations print how many webhooks they hold. */
const webhookTable = oneColumn(col('Webhooks', 'integer', 'Webhooks indicates the number of webhooks registered in this configuration'), (r) => arr(r.o.webhooks).length);

/** Printers keyed by groupKind ("Pod", "Deployment.apps"); kinds not here get upstream's default table. */
export const tables: Record<string, TableDef> = {
  Pod: table(
    [
      NAME,
      col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      AGE,
      wide('IP', DOC['core/v1.PodStatus.podIP']),
      wide('Node', DOC['core/v1.PodSpec.nodeName']),
      wide('Nominated Node', DOC['core/v1.PodStatus.nominatedNodeName']),
      wide('Readiness Gates', DOC['core/v1.PodSpec.readinessGates']),
    ],
    podCells,
  ),

  PodTemplate: table(
    [
      NAME,
      col('Containers', 'string', 'Names of each container in the template.'),
      col('Images', 'string', 'Images referenced by each container in the template.'),
      col('Pod Labels', 'string', 'The labels for the pod template.'),
    ],
    (r) => {
      const template = obj(r.o.template);
      return [r.name, ...containerCells(template.spec), formatLabelMap(obj(template.metadata).labels)];
    },
  ),

  'PodDisruptionBudget.policy': table(
    [
      NAME,
      col('Min Available', 'string', 'The minimum number of pods that must be available.'),
      col('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
      col('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
      AGE,
    ],
    ({ name, spec, status, age }) => [
      name,
      present(spec.minAvailable) ? intOrString(spec.minAvailable) : 'N/A',
      present(spec.maxUnavailable) ? intOrString(spec.maxUnavailable) : 'N/A',
      int(status.disruptionsAllowed),
      age,
    ],
  ),

  ReplicationController: replicaSetTable(
    DOC['core/v1.ReplicationControllerSpec.replicas'],
    DOC['core/v1.ReplicationControllerStatus.replicas'],
    DOC['core/v1.ReplicationControllerStatus.readyReplicas'],
    DOC['core/v1.ReplicationControllerSpec.selector'],
    true,
  ),

  'ReplicaSet.apps': replicaSetTable(
    DOC['extensions/v1beta1.ReplicaSetSpec.replicas'],
    DOC['extensions/v1beta1.ReplicaSetStatus.replicas'],
    DOC['extensions/v1beta1.ReplicaSetStatus.readyReplicas'],
    DOC['extensions/v1beta1.ReplicaSetSpec.selector'],
    false,
  ),

  'DaemonSet.apps': table(
    [
      NAME,
      col('Desired', 'integer', DOC['extensions/v1beta1.DaemonSetStatus.desiredNumberScheduled']),
      col('Current', 'integer', DOC['extensions/v1beta1.DaemonSetStatus.currentNumberScheduled']),
      col('Ready', 'integer', DOC['extensions/v1beta1.DaemonSetStatus.numberReady']),
      col('Up-to-date', 'integer', DOC['extensions/v1beta1.DaemonSetStatus.updatedNumberScheduled']),
      col('Available', 'integer', DOC['extensions/v1beta1.DaemonSetStatus.numberAvailable']),
      col('Node Selector', 'string', DOC['core/v1.PodSpec.nodeSelector']),
      ...workloadColumns(DOC['extensions/v1beta1.DaemonSetSpec.selector']),
    ],
    (r) => {
      const { spec, status } = r;
      const podSpec = templateSpec(spec);
      return [
        r.name,
        int(status.desiredNumberScheduled),
        int(status.currentNumberScheduled),
        int(status.numberReady),
        int(status.updatedNumberScheduled),
        int(status.numberAvailable),
        formatLabelMap(podSpec.nodeSelector),
        ...workloadCells(r, podSpec, formatSelector(spec.selector)),
      ];
    },
  ),

  'Job.batch': table(
    [
      NAME,
      col('Status', 'string', 'Status of the job.'),
      col('Completions', 'string', DOC['batch/v1.JobStatus.succeeded']),
      col('Duration', 'string', 'Time required to complete the job.'),
      ...workloadColumns(DOC['batch/v1.JobSpec.selector']),
    ],
    (r) => {
      const { spec, status, now } = r;
      const succeeded = int(status.succeeded);
      let completions: string;
      if (typeof spec.completions === 'number') completions = `${succeeded}/${int(spec.completions)}`;
      else {
        const parallelism = int(spec.parallelism);
        completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
      }
      const start = parseTime(status.startTime);
      const completion = parseTime(status.completionTime);
      const duration = start === undefined ? '' : humanDuration((completion ?? now.getTime()) - start);
      const has = (type: string) => {
        const c = arr(status.conditions).find((x) => str(obj(x).type) === type);
        return c !== undefined && str(obj(c).status) === 'True';
      };
      let state: string;
      if (has('Complete')) state = 'Complete';
      else if (has('Failed')) state = 'Failed';
      else if (deleting(r.o)) state = 'Terminating';
      else if (has('Suspended')) state = 'Suspended';
      else if (has('FailureTarget')) state = 'FailureTarget';
      else state = 'Running';
      return [r.name, state, completions, duration, ...workloadCells(r, templateSpec(spec), formatSelector(spec.selector))];
    },
  ),

  'CronJob.batch': table(
    [
      NAME,
      col('Schedule', 'string', DOC['batch/v1beta1.CronJobSpec.schedule']),
      col('Timezone', 'string', DOC['batch/v1beta1.CronJobSpec.timeZone']),
      col('Suspend', 'boolean', DOC['batch/v1beta1.CronJobSpec.suspend']),
      col('Active', 'integer', DOC['batch/v1beta1.CronJobStatus.active']),
      col('Last Schedule', 'string', DOC['batch/v1beta1.CronJobStatus.lastScheduleTime']),
      ...workloadColumns(DOC['batch/v1.JobSpec.selector']),
    ],
    (r) => {
      const { spec, status } = r;
      const jobSpec = obj(obj(spec.jobTemplate).spec);
      return [
        r.name,
        str(spec.schedule),
        strOr(spec.timeZone, '<none>'),
        boolPtr(spec.suspend),
        arr(status.active).length,
        present(status.lastScheduleTime) ? formatAge(status.lastScheduleTime, r.now) : '<none>',
        ...workloadCells(r, templateSpec(jobSpec), formatSelector(jobSpec.selector)),
      ];
    },
  ),

  Service: table(
    [
      NAME,
      col('Type', 'string', DOC['core/v1.ServiceSpec.type']),
      col('Cluster-IP', 'string', DOC['core/v1.ServiceSpec.clusterIP']),
      col('External-IP', 'string', DOC['core/v1.ServiceSpec.externalIPs']),
      col('Port(s)', 'string', DOC['core/v1.ServiceSpec.ports']),
      AGE,
      wide('Selector', DOC['core/v1.ServiceSpec.selector']),
    ],
    serviceCells,
  ),

  'Ingress.networking.k8s.io': table(
    [
      NAME,
      col('Class', 'string', 'The name of the IngressClass resource that should be used for additional configuration'),
      col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
      col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
      col('Ports', 'string', 'Ports of TLS configurations that open'),
      AGE,
    ],
    (r) => {
      const { spec } = r;
      const rules = arr(spec.rules).map(obj);
      const hosts: string[] = [];
      let more = false;
      for (const rule of rules) {
        if (hosts.length === 3) more = true;
        if (!more && str(rule.host).length !== 0) hosts.push(str(rule.host));
      }
      const hostsCell = hosts.length === 0 ? '*' : more ? `${hosts.join(',')} + ${rules.length - 3} more...` : hosts.join(',');
      return [
        r.name,
        strOr(spec.ingressClassName, '<none>'),
        hostsCell,
        loadBalancerIngress(r.status.loadBalancer),
        arr(spec.tls).length !== 0 ? '80, 443' : '80',
        r.age,
      ];
    },
  ),

  'IngressClass.networking.k8s.io': table(
    [
      NAME,
      col('Controller', 'string', 'Controller that is responsible for handling this class'),
      col('Parameters', 'string', 'A reference to a resource with additional parameters'),
      AGE,
    ],
    ({ name, spec, age }) => {
      let parameters = '<none>';
      if (present(spec.parameters)) {
        const p = obj(spec.parameters);
        parameters = str(p.kind) + (typeof p.apiGroup === 'string' ? `.${p.apiGroup}` : '') + '/' + str(p.name);
      }
      return [name, str(spec.controller), parameters, age];
    },
  ),

  'StatefulSet.apps': table([NAME, col('Ready', 'string', 'Number of the pod with ready state'), ...workloadColumns()], (r) => [
    r.name,
    `${int(r.status.readyReplicas)}/${replicasOf(r.spec)}`,
    ...workloadCells(r, templateSpec(r.spec)),
  ]),

  Endpoints: oneColumn(col('Endpoints', 'string', DOC['core/v1.Endpoints.subsets']), (r) => formatEndpoints(r.o)),

  'EndpointSlice.discovery.k8s.io': table(
    [
      NAME,
      col('AddressType', 'string', DOC['discovery/v1beta1.EndpointSlice.addressType']),
      col('Ports', 'string', DOC['discovery/v1beta1.EndpointSlice.ports']),
      col('Endpoints', 'string', DOC['discovery/v1beta1.EndpointSlice.endpoints']),
      AGE,
    ],
    ({ o, name, age }) => [name, str(o.addressType), formatSlicePorts(o.ports), formatSliceEndpoints(o.endpoints), age],
  ),

  Node: table(
    [
      NAME,
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      AGE,
      col('Version', 'string', DOC['core/v1.NodeSystemInfo.kubeletVersion']),
      wide('Internal-IP', DOC['core/v1.NodeStatus.addresses']),
      wide('External-IP', DOC['core/v1.NodeStatus.addresses']),
      wide('OS-Image', DOC['core/v1.NodeSystemInfo.osImage']),
      wide('Kernel-Version', DOC['core/v1.NodeSystemInfo.kernelVersion']),
      wide('Container-Runtime', DOC['core/v1.NodeSystemInfo.containerRuntimeVersion']),
    ],
    nodeCells,
  ),

  Event: table(eventColumns, (r) => eventCells(coreEvent(r.o), r.now)),
  'Event.events.k8s.io': table(eventColumns, (r) => eventCells(eventsV1Event(r.o), r.now)),

  Namespace: oneColumn(col('Status', 'string', 'The status of the namespace'), (r) => str(r.status.phase)),

  Secret: table(
    [NAME, col('Type', 'string', DOC['core/v1.Secret.type']), col('Data', 'string', DOC['core/v1.Secret.data']), AGE],
    ({ o, name, age }) => [name, str(o.type), count(o.data), age],
  ),

  ServiceAccount: oneColumn(col('Secrets', 'string', DOC['core/v1.ServiceAccount.secrets']), (r) => arr(r.o.secrets).length),

  PersistentVolume: table(
    [
      NAME,
      col('Capacity', 'string', DOC['core/v1.PersistentVolumeSpec.capacity']),
      col('Access Modes', 'string', DOC['core/v1.PersistentVolumeSpec.accessModes']),
      col('Reclaim Policy', 'string', DOC['core/v1.PersistentVolumeSpec.persistentVolumeReclaimPolicy']),
      col('Status', 'string', DOC['core/v1.PersistentVolumeStatus.phase']),
      col('Claim', 'string', DOC['core/v1.PersistentVolumeSpec.claimRef']),
      col('StorageClass', 'string', 'StorageClass of the pv'),
      col('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pv'),
      col('Reason', 'string', DOC['core/v1.PersistentVolumeStatus.reason']),
      AGE,
      wide('VolumeMode', DOC['core/v1.PersistentVolumeSpec.volumeMode']),
    ],
    ({ o, name, spec, status, age }) => {
      const claim = present(spec.claimRef) ? `${str(obj(spec.claimRef).namespace)}/${str(obj(spec.claimRef).name)}` : '';
      return [
        name,
        quantity(obj(spec.capacity).storage),
        accessModes(spec.accessModes),
        str(spec.persistentVolumeReclaimPolicy),
        deleting(o) ? 'Terminating' : str(status.phase),
        claim,
        storageClassOf(o),
        strOr(spec.volumeAttributesClassName, '<unset>'),
        str(status.reason),
        age,
        strOr(spec.volumeMode, '<unset>'),
      ];
    },
  ),

  PersistentVolumeClaim: table(
    [
      NAME,
      col('Status', 'string', DOC['core/v1.PersistentVolumeClaimStatus.phase']),
      col('Volume', 'string', DOC['core/v1.PersistentVolumeClaimSpec.volumeName']),
      col('Capacity', 'string', DOC['core/v1.PersistentVolumeClaimStatus.capacity']),
      col('Access Modes', 'string', DOC['core/v1.PersistentVolumeClaimStatus.accessModes']),
      col('StorageClass', 'string', 'StorageClass of the pvc'),
      col('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pvc'),
      AGE,
      wide('VolumeMode', DOC['core/v1.PersistentVolumeClaimSpec.volumeMode']),
    ],
    ({ o, name, spec, status, age }) => {
      const bound = str(spec.volumeName) !== '';
      return [
        name,
        deleting(o) ? 'Terminating' : str(status.phase),
        str(spec.volumeName),
        bound ? quantity(obj(status.capacity).storage) : '',
        bound ? accessModes(status.accessModes) : '',
        storageClassOf(o),
        strOr(spec.volumeAttributesClassName, '<unset>'),
        age,
        strOr(spec.volumeMode, '<unset>'),
      ];
    },
  ),

  ComponentStatus: table(
    [
      NAME,
      col('Status', 'string', 'Status of the component conditions'),
      col('Message', 'string', 'Message of the component conditions'),
      col('Error', 'string', 'Error of the component conditions'),
    ],
    ({ o, name }) => {
      const c = arr(o.conditions).map(obj).find((x) => x.type === 'Healthy');
      if (!c) return [name, 'Unknown', '', ''];
      return [name, str(c.status) === 'True' ? 'Healthy' : 'Unhealthy', str(c.message), str(c.error)];
    },
  ),

  'Deployment.apps': table(
    [
      NAME,
      col('Ready', 'string', 'Number of the pod with ready state'),
      col('Up-to-date', 'string', DOC['extensions/v1beta1.DeploymentStatus.updatedReplicas']),
      col('Available', 'string', DOC['extensions/v1beta1.DeploymentStatus.availableReplicas']),
      ...workloadColumns(DOC['extensions/v1beta1.DeploymentSpec.selector']),
    ],
    (r) => {
      const { spec, status } = r;
      return [
        r.name,
        `${int(status.readyReplicas)}/${replicasOf(spec)}`,
        int(status.updatedReplicas),
        int(status.availableReplicas),
        ...workloadCells(r, templateSpec(spec), selectorString(spec.selector)),
      ];
    },
  ),

  'HorizontalPodAutoscaler.autoscaling': table(
    [
      NAME,
      col('Reference', 'string', DOC['autoscaling/v2beta1.HorizontalPodAutoscalerSpec.scaleTargetRef']),
      col('Targets', 'string', DOC['autoscaling/v2beta1.HorizontalPodAutoscalerSpec.metrics']),
      col('MinPods', 'string', DOC['autoscaling/v2beta1.HorizontalPodAutoscalerSpec.minReplicas']),
      col('MaxPods', 'string', DOC['autoscaling/v2beta1.HorizontalPodAutoscalerSpec.maxReplicas']),
      col('Replicas', 'string', DOC['autoscaling/v2beta1.HorizontalPodAutoscalerStatus.currentReplicas']),
      AGE,
    ],
    ({ name, spec, status, age }) => {
      const ref = obj(spec.scaleTargetRef);
      const [specs, statuses] = hpaMetrics(spec, status);
      return [
        name,
        `${str(ref.kind)}/${str(ref.name)}`,
        formatHPAMetrics(specs, statuses),
        typeof spec.minReplicas === 'number' ? String(int(spec.minReplicas)) : '<unset>',
        int(spec.maxReplicas),
        int(status.currentReplicas),
        age,
      ];
    },
  ),

  ConfigMap: oneColumn(col('Data', 'string', DOC['core/v1.ConfigMap.data']), ({ o }) => count(o.data) + count(o.binaryData)),

  'NetworkPolicy.networking.k8s.io': oneColumn(
    col('Pod-Selector', 'string', DOC['extensions/v1beta1.NetworkPolicySpec.podSelector']),
    // podSelector is not a pointer upstream: absent reads as {}, which selects every pod.
    (r) => formatLabelSelector(obj(r.spec.podSelector) as any),
  ),

  'RoleBinding.rbac.authorization.k8s.io': bindingTable('roleBinding', DOC['rbac/v1beta1.RoleBinding.roleRef']),
  'ClusterRoleBinding.rbac.authorization.k8s.io': bindingTable('clusterRoleBinding', DOC['rbac/v1beta1.ClusterRoleBinding.roleRef']),

  'CertificateSigningRequest.certificates.k8s.io': table(
    [
      NAME,
      AGE,
      col('SignerName', 'string', DOC['certificates/v1beta1.CertificateSigningRequestSpec.signerName']),
      col('Requestor', 'string', DOC['certificates/v1beta1.CertificateSigningRequestSpec.request']),
      col('RequestedDuration', 'string', DOC['certificates/v1beta1.CertificateSigningRequestSpec.expirationSeconds']),
      col('Condition', 'string', DOC['certificates/v1beta1.CertificateSigningRequestStatus.conditions']),
    ],
    ({ o, name, spec, age }) => [
      name,
      age,
      str(spec.signerName) || '<none>',
      str(spec.username),
      typeof spec.expirationSeconds === 'number' ? humanDuration(int(spec.expirationSeconds) * 1000) : '<none>',
      csrCondition(o),
    ],
  ),

  'Lease.coordination.k8s.io': oneColumn(col('Holder', 'string', DOC['coordination/v1.LeaseSpec.holderIdentity']), (r) => str(r.spec.holderIdentity)),

  'StorageClass.storage.k8s.io': table(
    [
      NAME,
      col('Provisioner', 'string', DOC['storage/v1.StorageClass.provisioner']),
      col('ReclaimPolicy', 'string', DOC['storage/v1.StorageClass.reclaimPolicy']),
      col('VolumeBindingMode', 'string', DOC['storage/v1.StorageClass.volumeBindingMode']),
      col('AllowVolumeExpansion', 'string', DOC['storage/v1.StorageClass.allowVolumeExpansion']),
      AGE,
    ],
    ({ o, name, age }) => {
      const ann = obj(obj(o.metadata).annotations);
      const isDefault =
        ann['storageclass.kubernetes.io/is-default-class'] === 'true' || ann['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
      return [
        isDefault ? `${name} (default)` : name,
        str(o.provisioner),
        strOr(o.reclaimPolicy, 'Delete'),
        strOr(o.volumeBindingMode, 'Immediate'),
        o.allowVolumeExpansion === true,
        age,
      ];
    },
  ),

  'ControllerRevision.apps': table(
    [
      NAME,
      col('Controller', 'string', 'Controller of the object'),
      col('Revision', 'string', DOC['apps/v1beta1.ControllerRevision.revision']),
      AGE,
    ],
    ({ o, name, age }) => [name, controllerName(o), int(o.revision), age],
  ),

  ResourceQuota: table(
    [
      NAME,
      col('Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
      col('Limit', 'string', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
      AGE,
    ],
    ({ name, status, age }) => [name, ...quotaColumns(status), age],
  ),

  'PriorityClass.scheduling.k8s.io': table(
    [
      NAME,
      col('Value', 'integer', DOC['scheduling/v1.PriorityClass.value']),
      col('Global-Default', 'boolean', DOC['scheduling/v1.PriorityClass.globalDefault']),
      AGE,
      col('PreemptionPolicy', 'string', DOC['scheduling/v1.PriorityClass.preemptionPolicy']),
    ],
    ({ o, name, age }) => [name, int(o.value), o.globalDefault === true, age, str(o.preemptionPolicy)],
  ),

  // Upstream describes this column with ObjectMeta's doc for a "handler" key it does not have: "".
  'RuntimeClass.node.k8s.io': oneColumn(col('Handler', 'string', ''), (r) => str(r.o.handler)),

  'MutatingWebhookConfiguration.admissionregistration.k8s.io': webhookTable,
  'ValidatingWebhookConfiguration.admissionregistration.k8s.io': webhookTable,

  'CSINode.storage.k8s.io': oneColumn(
    col('Drivers', 'integer', 'Drivers indicates the number of CSI drivers registered on the node'),
    (r) => arr(r.spec.drivers).length,
  ),

  'CSIDriver.storage.k8s.io': table(
    [
      NAME,
      col('AttachRequired', 'boolean', DOC['storage/v1.CSIDriverSpec.attachRequired']),
      col('PodInfoOnMount', 'boolean', DOC['storage/v1.CSIDriverSpec.podInfoOnMount']),
      col('StorageCapacity', 'boolean', DOC['storage/v1.CSIDriverSpec.storageCapacity']),
      col('TokenRequests', 'string', DOC['storage/v1.CSIDriverSpec.tokenRequests']),
      col('RequiresRepublish', 'boolean', DOC['storage/v1.CSIDriverSpec.requiresRepublish']),
      col('Modes', 'string', DOC['storage/v1.CSIDriverSpec.volumeLifecycleModes']),
      AGE,
    ],
    ({ name, spec, age }) => {
      const modes = arr(spec.volumeLifecycleModes).map(str).join(',');
      return [
        name,
        spec.attachRequired !== false,
        spec.podInfoOnMount === true,
        spec.storageCapacity === true,
        present(spec.tokenRequests) ? arr(spec.tokenRequests).map((t) => str(obj(t).audience)).join(',') : '<unset>',
        spec.requiresRepublish === true,
        modes === '' ? '<none>' : modes,
        age,
      ];
    },
  ),

  'VolumeAttachment.storage.k8s.io': table(
    [
      NAME,
      col('Attacher', 'string', DOC['storage/v1.VolumeAttachmentSpec.attacher'], 0, 'name'),
      col('PV', 'string', DOC['storage/v1.VolumeAttachmentSource.persistentVolumeName']),
      col('Node', 'string', DOC['storage/v1.VolumeAttachmentSpec.nodeName']),
      col('Attached', 'boolean', DOC['storage/v1.VolumeAttachmentStatus.attached']),
      AGE,
    ],
    ({ name, spec, status, age }) => [name, str(spec.attacher), str(obj(spec.source).persistentVolumeName), str(spec.nodeName), status.attached === true, age],
  ),

  // The scale subresource (kubectl get --subresource=scale); its Name column has no "name" format upstream.
  'Scale.autoscaling': table(
    [
      col('Name', 'string', DOC['meta/v1.ObjectMeta.name']),
      col('Desired', 'integer', DOC['autoscaling/v1.ScaleSpec.replicas']),
      col('Available', 'integer', DOC['autoscaling/v1.ScaleStatus.replicas']),
      AGE,
    ],
    ({ name, spec, status, age }) => [name, int(spec.replicas), int(status.replicas), age],
  ),
};

/** Upstream's default table convertor, for kinds without a printer (Roles, LimitRanges, CRDs, custom resources). */
export const defaultTable: TableDef = table([NAME, col('Created At', 'date', DOC['meta/v1.ObjectMeta.creationTimestamp'])], ({ o, name }) => {
  // Go formats the (possibly zero) time in UTC as RFC 3339, without fractional seconds.
  const t = parseTime(obj(o.metadata).creationTimestamp) ?? GO_ZERO_TIME;
  return [name, new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')];
});

/** The table for a groupKind ("Pod", "Deployment.apps"), or the default Name / Created At table. */
export function tableFor(gk: string): TableDef {
  return Object.prototype.hasOwnProperty.call(tables, gk) ? tables[gk] : defaultTable;
}

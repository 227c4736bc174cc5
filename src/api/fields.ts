/**
 * Selectable fields per kind: what `fieldSelector=` may name, and how each field reads from an object.
 *
 * Upstream decides this in two places, and both matter: the kind's field label conversion
 * (pkg/apis/<group>/<version>/conversion.go, AddFieldLabelConversionFunc) says which labels are
 * accepted and words the error for the others; the registry strategy's GetAttrs
 * (pkg/registry/<group>/<kind>/strategy.go) says what each label's value is. A label that is accepted
 * but absent from GetAttrs reads as "" (Pod's status.podIPs), which we reproduce.
 * Kinds without a conversion function get upstream's default: metadata.name and metadata.namespace,
 * accepted whatever the scope (a cluster-scoped object's namespace reads as "").
 */
import type { FieldGetter, KubeObject } from './types.js';

type Getters = Record<string, FieldGetter>;

interface FieldLabelInfo {
  /** The error text for a label the kind does not support. */
  unsupported(label: string): string;
  /** The label after conversion (legacy aliases renamed). */
  canonical(label: string): string;
}

/** Go's %q for the ASCII field paths we quote; anything odd goes through JSON's escaping. */
const quote = (s: string) => JSON.stringify(s);

const defaultUnsupported = (label: string) =>
  `${quote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`;
const notSupported = (label: string) => `field label not supported: ${label}`;

const info = new WeakMap<object, FieldLabelInfo>();

/**
 * How selectors.ts words errors and renames aliases for a getters record; records not built here
 * (hand-made in a test, say) get the wording most kinds use.
 */
export function fieldLabelInfo(getters: object): FieldLabelInfo {
  return info.get(getters) ?? { unsupported: notSupported, canonical: (l) => l };
}

function define(getters: Getters, unsupported: (label: string) => string, aliases: Record<string, string> = {}): Readonly<Getters> {
  const frozen = Object.freeze(getters);
  info.set(frozen, { unsupported, canonical: (l) => aliases[l] ?? l });
  return frozen;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
/** Go's strconv.Itoa / FormatBool of a field that is zero when absent. */
const int = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(Math.trunc(v)) : '0');
const bool = (v: unknown): string => (v === true ? 'true' : 'false');

const name: FieldGetter = (o) => str(o.metadata?.name);
const namespace: FieldGetter = (o) => str(o.metadata?.namespace);

function podIP(o: KubeObject): string {
  // The internal type keeps only podIPs; a v1 object with just podIP converts to podIPs=[podIP].
  const ips = o.status?.podIPs;
  if (Array.isArray(ips) && ips.length > 0) return str(ips[0]?.ip);
  return str(o.status?.podIP);
}

const podGetters = define(
  {
    'metadata.name': name,
    'metadata.namespace': namespace,
    'spec.nodeName': (o) => str(o.spec?.nodeName),
    'spec.restartPolicy': (o) => str(o.spec?.restartPolicy),
    'spec.schedulerName': (o) => str(o.spec?.schedulerName),
    'spec.serviceAccountName': (o) => str(o.spec?.serviceAccountName),
    'spec.hostNetwork': (o) => bool(o.spec?.hostNetwork),
    'status.phase': (o) => str(o.status?.phase),
    'status.podIP': podIP,
    // Accepted by the conversion but never put in the field set upstream, so it always reads "".
    'status.podIPs': () => '',
    'status.nominatedNodeName': (o) => str(o.status?.nominatedNodeName),
    // Old v1 clients sent spec.host; upstream converts it to spec.nodeName.
    'spec.host': (o) => str(o.spec?.nodeName),
  },
  notSupported,
  { 'spec.host': 'spec.nodeName' },
);

const coreEventGetters = define(
  {
    'involvedObject.kind': (o) => str(o.involvedObject?.kind),
    'involvedObject.namespace': (o) => str(o.involvedObject?.namespace),
    'involvedObject.name': (o) => str(o.involvedObject?.name),
    'involvedObject.uid': (o) => str(o.involvedObject?.uid),
    'involvedObject.apiVersion': (o) => str(o.involvedObject?.apiVersion),
    'involvedObject.resourceVersion': (o) => str(o.involvedObject?.resourceVersion),
    'involvedObject.fieldPath': (o) => str(o.involvedObject?.fieldPath),
    reason: (o) => str(o.reason),
    reportingComponent: (o) => str(o.reportingComponent),
    source: (o) => str(o.source?.component) || str(o.reportingComponent),
    type: (o) => str(o.type),
    'metadata.namespace': namespace,
    'metadata.name': name,
  },
  notSupported,
);

/** events.k8s.io/v1 names the same fields after its own schema, and maps them onto core's field set. */
const eventsV1Getters = define(
  {
    reason: (o) => str(o.reason),
    'regarding.kind': (o) => str(o.regarding?.kind),
    'regarding.namespace': (o) => str(o.regarding?.namespace),
    'regarding.name': (o) => str(o.regarding?.name),
    'regarding.uid': (o) => str(o.regarding?.uid),
    'regarding.apiVersion': (o) => str(o.regarding?.apiVersion),
    'regarding.resourceVersion': (o) => str(o.regarding?.resourceVersion),
    'regarding.fieldPath': (o) => str(o.regarding?.fieldPath),
    reportingController: (o) => str(o.reportingController),
    source: (o) => str(o.deprecatedSource?.component) || str(o.reportingController),
    type: (o) => str(o.type),
    'metadata.namespace': namespace,
    'metadata.name': name,
  },
  notSupported,
  {
    'regarding.kind': 'involvedObject.kind',
    'regarding.namespace': 'involvedObject.namespace',
    'regarding.name': 'involvedObject.name',
    'regarding.uid': 'involvedObject.uid',
    'regarding.apiVersion': 'involvedObject.apiVersion',
    'regarding.resourceVersion': 'involvedObject.resourceVersion',
    'regarding.fieldPath': 'involvedObject.fieldPath',
    reportingController: 'reportingComponent',
  },
);

const signerNameGetters = () => define({ 'metadata.name': name, 'spec.signerName': (o) => str(o.spec?.signerName) }, notSupported);

const byKind: Record<string, Readonly<Getters>> = {
  Pod: podGetters,
  Node: define({ 'metadata.name': name, 'spec.unschedulable': (o) => bool(o.spec?.unschedulable) }, notSupported),
  ReplicationController: define(
    { 'metadata.name': name, 'metadata.namespace': namespace, 'status.replicas': (o) => int(o.status?.replicas) },
    notSupported,
  ),
  Event: coreEventGetters,
  'Event.events.k8s.io': eventsV1Getters,
  Namespace: define({ 'status.phase': (o) => str(o.status?.phase), 'metadata.name': name }, notSupported),
  Secret: define({ type: (o) => str(o.type), 'metadata.namespace': namespace, 'metadata.name': name }, notSupported),
  Service: define(
    {
      'metadata.namespace': namespace,
      'metadata.name': name,
      'spec.clusterIP': (o) => str(o.spec?.clusterIP),
      'spec.type': (o) => str(o.spec?.type),
    },
    notSupported,
  ),
  'Job.batch': define(
    { 'metadata.name': name, 'metadata.namespace': namespace, 'status.successful': (o) => int(o.status?.succeeded) },
    (label) => `field label ${quote(label)} not supported for batchv1.Job`,
  ),
  'CertificateSigningRequest.certificates.k8s.io': signerNameGetters(),
  'ClusterTrustBundle.certificates.k8s.io': signerNameGetters(),
};

const defaultGetters = define({ 'metadata.name': name, 'metadata.namespace': namespace }, defaultUnsupported);

/**
 * The selectable fields of a kind, keyed by groupKind ("Pod", "Job.batch"). Each getter returns the
 * string upstream compares against (booleans as "true"/"false", counts in decimal). The same frozen
 * record is returned on every call, so callers may cache by identity.
 *
 * Note for ReplicaSet and the other apps/v1 kinds: upstream computes status.replicas in GetAttrs but
 * registers no apps/v1 conversion, so the API rejects it; so do we.
 */
export function fieldGetters(gk: string): Readonly<Getters> {
  return byKind[gk] ?? defaultGetters;
}

/**
 * Selectable fields of a custom resource: metadata.name, metadata.namespace when the CRD is
 * namespaced, and the CRD version's selectableFields (JSON paths such as ".spec.color"). Values
 * read as strings, numbers and booleans print as Go would, anything else or absent reads as "".
 */
export function customResourceFieldGetters(namespaced: boolean, selectableFields: readonly { jsonPath: string }[] = []): Readonly<Getters> {
  const getters: Getters = { 'metadata.name': name };
  if (namespaced) getters['metadata.namespace'] = namespace;
  for (const { jsonPath } of selectableFields) {
    const path = jsonPath.replace(/^\./, '').split('.');
    getters[path.join('.')] = (o) => {
      let v: unknown = o;
      for (const seg of path) {
        if (v === null || typeof v !== 'object') return '';
        v = (v as Record<string, unknown>)[seg];
      }
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
    };
  }
  return define(getters, notSupported);
}

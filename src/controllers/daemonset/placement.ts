/**
 * Where a DaemonSet's pods belong, after upstream's NodeShouldRunDaemonPod and the scheduling
 * helpers it uses: the template's nodeName, nodeSelector and required node affinity must fit the
 * node, and NoSchedule/NoExecute taints must be tolerated (with the tolerations every daemon pod
 * gets). A node whose only untolerated taints are NoSchedule keeps the pods it already runs;
 * an untolerated NoExecute taint evicts them.
 *
 * Also the shape of a daemon pod: its extra tolerations and the node affinity that pins an
 * unscheduled pod to its node (`matchFields metadata.name In [node]`), which the scheduler honours.
 */
import type { KubeObject } from '../../api/types.js';
import { toleratesTaint, type Taint, type Toleration } from '../../api/taints.js';

export type { Taint, Toleration };

interface NodeSelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

// Upstream's well-known taints (k8s.io/api/core/v1 well_known_taints.go).
export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NODE_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_NODE_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_NODE_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_NODE_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

/** metav1.ObjectNameField: the one field node selector terms may match on. */
const OBJECT_NAME_FIELD = 'metadata.name';

// ---- taints and tolerations ----

/** The first taint passing `filter` that no toleration tolerates (upstream's FindMatchingUntoleratedTaint). */
export function untoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], filter: (t: Taint) => boolean): Taint | undefined {
  return taints.find((taint) => filter(taint) && !tolerations.some((t) => toleratesTaint(t, taint)));
}

/** Upstream's AddOrUpdateTolerationInPodSpec: a toleration for the same key/operator/value/effect is replaced. */
function addOrUpdateToleration(tolerations: Toleration[], toleration: Toleration): void {
  const same = (t: Toleration) =>
    (t.key ?? '') === (toleration.key ?? '') && (t.operator ?? '') === (toleration.operator ?? '') && (t.value ?? '') === (toleration.value ?? '') && (t.effect ?? '') === (toleration.effect ?? '');
  const at = tolerations.findIndex(same);
  if (at < 0) tolerations.push(toleration);
  else tolerations[at] = toleration;
}

/**
 * The pod spec with the tolerations upstream gives every daemon pod (AddOrUpdateDaemonPodTolerations):
 * not-ready and unreachable NoExecute forever, the node-condition NoSchedule taints, and
 * network-unavailable for host-network pods. Returns a new spec.
 */
export function withDaemonTolerations(spec: Record<string, unknown>): Record<string, unknown> {
  const tolerations: Toleration[] = Array.isArray(spec.tolerations) ? (spec.tolerations as Toleration[]).map((t) => ({ ...t })) : [];
  const exists = (key: string, effect: string): Toleration => ({ key, operator: 'Exists', effect });
  addOrUpdateToleration(tolerations, exists(TAINT_NODE_NOT_READY, 'NoExecute'));
  addOrUpdateToleration(tolerations, exists(TAINT_NODE_UNREACHABLE, 'NoExecute'));
  addOrUpdateToleration(tolerations, exists(TAINT_NODE_DISK_PRESSURE, 'NoSchedule'));
  addOrUpdateToleration(tolerations, exists(TAINT_NODE_MEMORY_PRESSURE, 'NoSchedule'));
  addOrUpdateToleration(tolerations, exists(TAINT_NODE_PID_PRESSURE, 'NoSchedule'));
  addOrUpdateToleration(tolerations, exists(TAINT_NODE_UNSCHEDULABLE, 'NoSchedule'));
  if (spec.hostNetwork === true) addOrUpdateToleration(tolerations, exists(TAINT_NODE_NETWORK_UNAVAILABLE, 'NoSchedule'));
  return { ...spec, tolerations };
}

// ---- node selectors and affinity ----

function parseInt64(s: string): bigint | undefined {
  return /^[+-]?[0-9]+$/.test(s) ? BigInt(s) : undefined;
}

/** One requirement against a value (a label or a field); undefined = the key is absent. Invalid ⇒ null. */
function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean | null {
  const values = Array.isArray(r.values) ? r.values.map(String) : [];
  switch (r.operator) {
    case 'In':
      return values.length === 0 ? null : value !== undefined && values.includes(value);
    case 'NotIn':
      return values.length === 0 ? null : value === undefined || !values.includes(value);
    case 'Exists':
      return values.length > 0 ? null : value !== undefined;
    case 'DoesNotExist':
      return values.length > 0 ? null : value === undefined;
    case 'Gt':
    case 'Lt': {
      if (values.length !== 1) return null;
      const bound = parseInt64(values[0]);
      if (bound === undefined) return null;
      const v = value === undefined ? undefined : parseInt64(value);
      if (v === undefined) return false;
      return r.operator === 'Gt' ? v > bound : v < bound;
    }
    default:
      return null;
  }
}

/** A term matches when all its requirements do; an empty or invalid term matches nothing (as upstream). */
function termMatches(term: NodeSelectorTerm, node: KubeObject): boolean {
  const exprs = Array.isArray(term.matchExpressions) ? term.matchExpressions : [];
  const fields = Array.isArray(term.matchFields) ? term.matchFields : [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = (node.metadata?.labels ?? {}) as Record<string, string>;
  for (const r of exprs) {
    const key = String(r?.key ?? '');
    if (requirementMatches(r, Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined) !== true) return false;
  }
  for (const r of fields) {
    if (r?.key !== OBJECT_NAME_FIELD) return false;
    if (r.operator !== 'In' && r.operator !== 'NotIn') return false;
    if (requirementMatches(r, node.metadata?.name) !== true) return false;
  }
  return true;
}

/** nodeSelector and required node affinity of a pod spec against a node (upstream's GetRequiredNodeAffinity(pod).Match). */
export function fitsNodeAffinity(spec: Record<string, any>, node: KubeObject): boolean {
  const selector = spec.nodeSelector;
  if (selector && typeof selector === 'object') {
    const labels = (node.metadata?.labels ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(selector as Record<string, string>)) {
      if (!Object.prototype.hasOwnProperty.call(labels, k) || labels[k] !== v) return false;
    }
  }
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && typeof required === 'object') {
    const terms: NodeSelectorTerm[] = Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms : [];
    if (!terms.some((t) => t && typeof t === 'object' && termMatches(t, node))) return false;
  }
  return true;
}

export interface Placement {
  /** A daemon pod should be created here if there is none. */
  shouldRun: boolean;
  /** A daemon pod already here may stay. */
  shouldContinueRunning: boolean;
}

const NOT_HERE: Placement = { shouldRun: false, shouldContinueRunning: false };

/** Upstream's NodeShouldRunDaemonPod for `ds` on `node`. */
export function placementOn(node: KubeObject, ds: KubeObject): Placement {
  const template = ds.spec?.template?.spec ?? {};
  const nodeName = node.metadata?.name;
  if (template.nodeName && template.nodeName !== nodeName) return NOT_HERE;
  if (!fitsNodeAffinity(template, node)) return NOT_HERE;
  const taints: Taint[] = Array.isArray(node.spec?.taints) ? node.spec.taints : [];
  if (taints.length === 0) return { shouldRun: true, shouldContinueRunning: true };
  const tolerations = withDaemonTolerations(template).tolerations as Toleration[];
  const blocking = untoleratedTaint(taints, tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  if (!blocking) return { shouldRun: true, shouldContinueRunning: true };
  const evicting = untoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute');
  return { shouldRun: false, shouldContinueRunning: !evicting };
}

// ---- pinning a pod to its node ----

/**
 * The affinity with its required node affinity replaced by `metadata.name In [node]`
 * (upstream's ReplaceDaemonSetPodNodeNameNodeAffinity); preferred terms and pod (anti-)affinity stay.
 */
export function pinToNode(affinity: Record<string, any> | undefined, node: string): Record<string, any> {
  const required = { nodeSelectorTerms: [{ matchFields: [{ key: OBJECT_NAME_FIELD, operator: 'In', values: [node] }] }] };
  const nodeAffinity = affinity?.nodeAffinity ?? {};
  const keptRequired = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  return {
    ...affinity,
    nodeAffinity: { ...nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: keptRequired ? { ...keptRequired, ...required } : required },
  };
}

/** The node a daemon pod is for: its nodeName, or the node its affinity pins it to (upstream's GetTargetNodeName). */
export function targetNodeName(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return String(pod.spec.nodeName);
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!Array.isArray(terms)) return undefined;
  for (const term of terms) {
    for (const f of Array.isArray(term?.matchFields) ? term.matchFields : []) {
      if (f?.key === OBJECT_NAME_FIELD && f.operator === 'In') {
        return Array.isArray(f.values) && f.values.length === 1 ? String(f.values[0]) : undefined;
      }
    }
  }
  return undefined;
}

export { toleratesTaint };

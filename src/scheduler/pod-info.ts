/**
 * What the scheduler needs to know about a pod, worked out once per pod object (upstream's
 * framework.PodInfo): requests as numbers, priority, tolerations, compiled node selection, pod
 * (anti-)affinity terms and topology spread constraints. Informer objects are frozen and replaced on
 * every change, so a PodInfo is cached per object and never goes stale.
 */
import type { KubeObject } from '../api/types.js';
import { labelSelectorFromObject, nothingLabels, type LabelPredicate, type LabelSelectorObject } from '../api/selectors.js';
import { podNonZeroRequests, podRequests, type Requests } from './resources.js';
import { preferredNodeAffinity, requiredNodeAffinity, requiredNodeNames, type NodeMatcher, type PreferredTerm } from './node-selector.js';
import { toTolerations, type NormalToleration as Toleration } from '../api/taints.js';

export type Labels = Readonly<Record<string, string>>;
export const NO_LABELS: Labels = Object.freeze({});

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

/** A pod (anti-)affinity term: pods selected by `selector` in `namespaces` (or namespaces selected by `namespaceSelector`). */
export interface AffinityTerm {
  selector: LabelPredicate;
  namespaces: ReadonlySet<string>;
  namespaceSelector: LabelPredicate;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: string;
  selector: LabelPredicate;
  minDomains: number;
  /** Honor: only nodes matching the pod's node selection count (the default). */
  honorNodeAffinity: boolean;
  /** Honor: only nodes whose taints the pod tolerates count (default Ignore). */
  honorNodeTaints: boolean;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export interface PodInfo {
  readonly pod: KubeObject;
  /** `namespace/name`. */
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly nodeName: string;
  readonly schedulerName: string;
  readonly priority: number;
  /** PreemptLowerPriority or Never. */
  readonly preemptionPolicy: string;
  readonly terminating: boolean;
  readonly terminal: boolean;
  readonly gated: boolean;
  /** status.startTime in ms, or undefined (not started). */
  readonly startMs: number | undefined;
  readonly requests: Requests;
  readonly nonZeroCPU: number;
  readonly nonZeroMemory: number;
  readonly hostPorts: readonly HostPort[] | null;
  readonly tolerations: readonly Toleration[];
  /** nodeSelector + required node affinity; undefined when the pod has neither. */
  readonly requiredNodeAffinity: NodeMatcher | undefined;
  /** Node names pinned by matchFields (DaemonSet pods); undefined when any node may do. */
  readonly requiredNodeNames: ReadonlySet<string> | undefined;
  readonly preferredNodeAffinity: readonly PreferredTerm[] | null;
  readonly requiredAffinityTerms: readonly AffinityTerm[] | null;
  readonly requiredAntiAffinityTerms: readonly AffinityTerm[] | null;
  readonly preferredAffinityTerms: readonly WeightedAffinityTerm[] | null;
  readonly preferredAntiAffinityTerms: readonly WeightedAffinityTerm[] | null;
  /** Has pod affinity or anti-affinity of any kind. */
  readonly hasAffinity: boolean;
  readonly spreadConstraints: readonly SpreadConstraint[] | null;
  /** Why a pod (anti-)affinity term could not be read (an invalid selector), if one could not. */
  readonly affinityError: string | undefined;
  /** Why a topology spread constraint could not be read, if one could not. */
  readonly spreadError: string | undefined;
}

export interface PodInfoOptions {
  /** The pod's priority when spec.priority is unset (resolved from its PriorityClass). */
  priority?: number;
  /** The preemption policy when spec.preemptionPolicy is unset. */
  preemptionPolicy?: string;
}

function selectorOf(sel: unknown): LabelPredicate {
  if (sel === null || sel === undefined) return nothingLabels;
  return labelSelectorFromObject(sel as LabelSelectorObject);
}

function compileAffinityTerm(term: any, namespace: string): AffinityTerm {
  const namespaces = Array.isArray(term?.namespaces) ? term.namespaces.map(String) : [];
  const nsSel = term?.namespaceSelector;
  const set = new Set<string>(namespaces);
  // No namespaces and no namespaceSelector means "the pod's own namespace".
  if (namespaces.length === 0 && (nsSel === null || nsSel === undefined)) set.add(namespace);
  return {
    selector: selectorOf(term?.labelSelector),
    namespaces: set,
    namespaceSelector: nsSel === null || nsSel === undefined ? nothingLabels : selectorOf(nsSel),
    topologyKey: String(term?.topologyKey ?? ''),
  };
}

function compileTerms(list: unknown, namespace: string): AffinityTerm[] | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.map((t) => compileAffinityTerm(t, namespace));
}

function compileWeighted(list: unknown, namespace: string): WeightedAffinityTerm[] | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.map((w) => ({ ...compileAffinityTerm(w?.podAffinityTerm, namespace), weight: typeof w?.weight === 'number' ? w.weight : 0 }));
}

function compileSpread(list: unknown, labels: Labels): SpreadConstraint[] | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.map((c: any) => {
    let sel: any = c?.labelSelector ?? null;
    // matchLabelKeys: the pod's own values for those keys narrow the selector.
    const keys: unknown[] = Array.isArray(c?.matchLabelKeys) ? c.matchLabelKeys : [];
    const extra = keys.filter((k): k is string => typeof k === 'string' && Object.prototype.hasOwnProperty.call(labels, k));
    if (extra.length > 0 && sel !== null) {
      sel = { ...sel, matchExpressions: [...(sel.matchExpressions ?? []), ...extra.map((k) => ({ key: k, operator: 'In', values: [labels[k]] }))] };
    }
    return {
      maxSkew: typeof c?.maxSkew === 'number' ? c.maxSkew : 1,
      topologyKey: String(c?.topologyKey ?? ''),
      whenUnsatisfiable: String(c?.whenUnsatisfiable ?? 'DoNotSchedule'),
      selector: selectorOf(sel),
      minDomains: typeof c?.minDomains === 'number' ? c.minDomains : 1,
      honorNodeAffinity: (c?.nodeAffinityPolicy ?? 'Honor') === 'Honor',
      honorNodeTaints: c?.nodeTaintsPolicy === 'Honor',
    };
  });
}

function hostPortsOf(spec: any): HostPort[] | null {
  let out: HostPort[] | null = null;
  for (const c of Array.isArray(spec?.containers) ? spec.containers : []) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) {
      const port = typeof p?.hostPort === 'number' ? p.hostPort : 0;
      if (port <= 0) continue;
      (out ??= []).push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port });
    }
  }
  return out;
}

/** Builds a PodInfo; never throws (an invalid selector is kept as `affinityError` or `spreadError`). */
export function newPodInfo(pod: KubeObject, opts: PodInfoOptions = {}): PodInfo {
  const meta = pod.metadata ?? {};
  const spec = pod.spec ?? {};
  const namespace = meta.namespace ?? '';
  const name = meta.name ?? '';
  const labels: Labels = meta.labels && typeof meta.labels === 'object' ? meta.labels : NO_LABELS;
  const nonZero = podNonZeroRequests(spec);
  const phase = pod.status?.phase;
  const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
  const affinity = spec.affinity ?? {};
  let affinityError: string | undefined;
  let spreadError: string | undefined;
  let requiredAffinityTerms: AffinityTerm[] | null = null;
  let requiredAntiAffinityTerms: AffinityTerm[] | null = null;
  let preferredAffinityTerms: WeightedAffinityTerm[] | null = null;
  let preferredAntiAffinityTerms: WeightedAffinityTerm[] | null = null;
  let spreadConstraints: SpreadConstraint[] | null = null;
  try {
    requiredAffinityTerms = compileTerms(affinity.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution, namespace);
    requiredAntiAffinityTerms = compileTerms(affinity.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, namespace);
    preferredAffinityTerms = compileWeighted(affinity.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution, namespace);
    preferredAntiAffinityTerms = compileWeighted(affinity.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, namespace);
  } catch (err) {
    affinityError = (err as Error).message;
  }
  try {
    spreadConstraints = compileSpread(spec.topologySpreadConstraints, labels);
  } catch (err) {
    spreadError = (err as Error).message;
  }
  return {
    pod,
    key: `${namespace}/${name}`,
    uid: meta.uid ?? '',
    namespace,
    name,
    labels,
    nodeName: typeof spec.nodeName === 'string' ? spec.nodeName : '',
    schedulerName: typeof spec.schedulerName === 'string' && spec.schedulerName !== '' ? spec.schedulerName : 'default-scheduler',
    priority: typeof spec.priority === 'number' ? spec.priority : (opts.priority ?? 0),
    preemptionPolicy: typeof spec.preemptionPolicy === 'string' ? spec.preemptionPolicy : (opts.preemptionPolicy ?? 'PreemptLowerPriority'),
    terminating: Boolean(meta.deletionTimestamp),
    terminal: phase === 'Succeeded' || phase === 'Failed',
    gated: Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0,
    startMs: Number.isFinite(start) ? start : undefined,
    requests: podRequests(spec),
    nonZeroCPU: nonZero.milliCPU,
    nonZeroMemory: nonZero.memory,
    hostPorts: hostPortsOf(spec),
    tolerations: toTolerations(spec.tolerations),
    requiredNodeAffinity: requiredNodeAffinity(spec),
    requiredNodeNames: requiredNodeNames(spec),
    preferredNodeAffinity: preferredNodeAffinity(spec),
    requiredAffinityTerms,
    requiredAntiAffinityTerms,
    preferredAffinityTerms,
    preferredAntiAffinityTerms,
    hasAffinity: Boolean(affinity.podAffinity || affinity.podAntiAffinity),
    spreadConstraints,
    affinityError,
    spreadError,
  };
}

export type NamespaceLabels = (namespace: string) => Labels | undefined;

/**
 * Upstream's AffinityTerm.Matches: the pod is in one of the term's namespaces (or in a namespace its
 * namespaceSelector selects) and carries matching labels.
 */
export function termMatches(t: AffinityTerm, pod: PodInfo, nsLabels: NamespaceLabels): boolean {
  if (t.namespaces.has(pod.namespace) || (!t.namespaceSelector.nothing && t.namespaceSelector.matches(nsLabels(pod.namespace) ?? NO_LABELS))) {
    return t.selector.matches(pod.labels);
  }
  return false;
}

/** Matches all of `terms` (an empty list matches nothing, as upstream's podMatchesAllAffinityTerms). */
export function matchesAllTerms(terms: readonly AffinityTerm[], pod: PodInfo, nsLabels: NamespaceLabels): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termMatches(t, pod, nsLabels)) return false;
  return true;
}

/**
 * Quota evaluators, after upstream's pkg/quota/v1/evaluator/core and generic: for one kind of
 * object, which quota resource names it can use, how much of them one object uses, whether it falls
 * in a quota's scopes, and what it must declare when a quota constrains it. The ResourceQuota
 * admission plugin charges one object's usage; the resourcequota controller sums every object's.
 */
import type { KubeObject } from '../api/types.js';
import { containerList, count, podResources, toUsage, type Amount, type Usage } from './resources.js';

export type QuotaOperation = 'CREATE' | 'UPDATE';

export interface ScopeSelectorRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

export interface QuotaEvaluator {
  readonly group: string;
  readonly resource: string;
  /** Whether this operation can change what the object uses. */
  handles(operation: QuotaOperation): boolean;
  /** The names among `names` this kind of object uses. */
  matchingResources(names: readonly string[]): string[];
  matchesScope(selector: ScopeSelectorRequirement, obj: KubeObject): boolean;
  /** Upstream's Constraints: what the object must declare when `required` are limited; the error text or undefined. */
  constraints(required: readonly string[], obj: KubeObject): string | undefined;
  usage(obj: KubeObject, now: number): Usage;
}

/** `count/<resource>[.<group>]`: the object count name of any resource. */
export function objectCountName(group: string, resource: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

/** The group and resource a `count/...` name counts (upstream splits at the first dot). */
export function parseObjectCountName(name: string): { group: string; resource: string } | undefined {
  if (!name.startsWith('count/')) return undefined;
  const gr = name.slice('count/'.length);
  const dot = gr.indexOf('.');
  return dot === -1 ? { group: '', resource: gr } : { group: gr.slice(dot + 1), resource: gr.slice(0, dot) };
}

const ONE = count(1);
const NONE = count(0);

// ---- generic object counts ---------------------------------------------------------------------

/** Counts objects of any resource; the four core kinds also answer to their legacy names. */
class ObjectCountEvaluator implements QuotaEvaluator {
  private readonly names: string[];

  constructor(
    readonly group: string,
    readonly resource: string,
    alias?: string,
  ) {
    this.names = [objectCountName(group, resource), ...(alias ? [alias] : [])];
  }

  handles(operation: QuotaOperation): boolean {
    return operation === 'CREATE';
  }

  matchingResources(names: readonly string[]): string[] {
    return names.filter((n) => this.names.includes(n));
  }

  matchesScope(): boolean {
    return false;
  }

  constraints(): undefined {
    return undefined;
  }

  usage(): Usage {
    return new Map(this.names.map((n) => [n, ONE]));
  }
}

// ---- pods --------------------------------------------------------------------------------------

const POD_RESOURCES = [
  'count/pods', 'pods', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
];
/** Resources a container must declare when a quota limits them (upstream's validationSet). */
const MUST_DECLARE = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.startsWith('kubernetes.io/');
}

/** An extended resource as a quota names it: `requests.<vendor>/<name>`. */
function isExtendedQuotaName(name: string): boolean {
  return !isNativeResource(name) && name.startsWith('requests.');
}

function isExtendedResourceName(name: string): boolean {
  return !isNativeResource(name) && !name.startsWith('requests.');
}

/** podComputeUsageHelper: the quota names a set of requests and limits use. */
function computeUsage(requests: Usage, limits: Usage): Usage {
  const out: Usage = new Map([['pods', ONE]]);
  const both = (r: string) => {
    const req = requests.get(r);
    if (req) {
      out.set(r, req);
      out.set(`requests.${r}`, req);
    }
    const lim = limits.get(r);
    if (lim) out.set(`limits.${r}`, lim);
  };
  both('cpu');
  both('memory');
  both('ephemeral-storage');
  for (const [r, v] of requests) {
    if (r.startsWith('hugepages-')) {
      out.set(r, v);
      out.set(`requests.${r}`, v);
    }
    if (isExtendedResourceName(r)) out.set(`requests.${r}`, v);
  }
  return out;
}

/** Not Failed or Succeeded, and not stuck terminating past its grace period (QuotaV1Pod). */
export function podCountsForQuota(pod: KubeObject, now: number): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return false;
  const ts = pod.metadata?.deletionTimestamp;
  const grace = pod.metadata?.deletionGracePeriodSeconds;
  if (ts && typeof grace === 'number') {
    const at = Date.parse(ts);
    if (!Number.isNaN(at) && now > at + grace * 1000) return false;
  }
  return true;
}

function isBestEffort(pod: KubeObject): boolean {
  for (const c of containerList(pod)) {
    for (const list of [c.resources?.requests, c.resources?.limits]) {
      const u = toUsage(list);
      for (const r of ['cpu', 'memory']) if ((u.get(r)?.nano ?? 0n) > 0n) return false;
    }
  }
  return true;
}

function isTerminatingPod(pod: KubeObject): boolean {
  const d = pod.spec?.activeDeadlineSeconds;
  return typeof d === 'number' && d >= 0;
}

function usesCrossNamespaceAffinity(pod: KubeObject): boolean {
  const aff = pod.spec?.affinity;
  if (!aff || typeof aff !== 'object') return false;
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const a = aff[kind];
    if (!a || typeof a !== 'object') continue;
    const terms = [
      ...(Array.isArray(a.requiredDuringSchedulingIgnoredDuringExecution) ? a.requiredDuringSchedulingIgnoredDuringExecution : []),
      ...(Array.isArray(a.preferredDuringSchedulingIgnoredDuringExecution) ? a.preferredDuringSchedulingIgnoredDuringExecution.map((w: any) => w?.podAffinityTerm) : []),
    ];
    for (const t of terms) {
      if (!t || typeof t !== 'object') continue;
      if ((Array.isArray(t.namespaces) && t.namespaces.length > 0) || (t.namespaceSelector !== undefined && t.namespaceSelector !== null)) return true;
    }
  }
  return false;
}

/** A PriorityClass scope requirement, read as a label selector over {PriorityClass: <name>}. */
function matchesPriorityClass(selector: ScopeSelectorRequirement, pod: KubeObject): boolean {
  const name = typeof pod.spec?.priorityClassName === 'string' ? pod.spec.priorityClassName : '';
  const values = selector.values ?? [];
  switch (selector.operator) {
    case 'Exists':
      return name !== '';
    case 'DoesNotExist':
      return name === '';
    case 'In':
      return name !== '' && values.includes(name);
    case 'NotIn':
      return name === '' || !values.includes(name);
    default:
      return false;
  }
}

class PodEvaluator implements QuotaEvaluator {
  readonly group = '';
  readonly resource = 'pods';

  handles(operation: QuotaOperation): boolean {
    // Pod resources cannot change after create (in-place resize is alpha in 1.32 and off).
    return operation === 'CREATE';
  }

  matchingResources(names: readonly string[]): string[] {
    return names.filter(
      (n) => POD_RESOURCES.includes(n) || n.startsWith('hugepages-') || n.startsWith('requests.hugepages-') || isExtendedQuotaName(n),
    );
  }

  matchesScope(selector: ScopeSelectorRequirement, pod: KubeObject): boolean {
    switch (selector.scopeName) {
      case 'Terminating':
        return isTerminatingPod(pod);
      case 'NotTerminating':
        return !isTerminatingPod(pod);
      case 'BestEffort':
        return isBestEffort(pod);
      case 'NotBestEffort':
        return !isBestEffort(pod);
      case 'PriorityClass':
        return matchesPriorityClass(selector, pod);
      case 'CrossNamespacePodAffinity':
        return usesCrossNamespaceAffinity(pod);
      default:
        return false;
    }
  }

  constraints(required: readonly string[], pod: KubeObject): string | undefined {
    const wanted = required.filter((r) => MUST_DECLARE.has(r));
    if (wanted.length === 0) return undefined;
    const missing = new Map<string, Set<string>>();
    for (const c of containerList(pod)) {
      const has = computeUsage(toUsage(c.resources?.requests), toUsage(c.resources?.limits));
      for (const r of wanted) {
        if (has.has(r)) continue;
        if (!missing.has(r)) missing.set(r, new Set());
        missing.get(r)!.add(c.name ?? '');
      }
    }
    if (missing.size === 0) return undefined;
    const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`);
    return `must specify ${parts.join('; ')}`;
  }

  usage(pod: KubeObject, now: number): Usage {
    // count/pods counts every stored pod; the rest only pods that still run or may run.
    const out: Usage = new Map([['count/pods', ONE]]);
    if (!podCountsForQuota(pod, now)) return out;
    for (const [k, v] of computeUsage(podResources(pod, 'requests'), podResources(pod, 'limits'))) out.set(k, v);
    return out;
  }
}

// ---- services ----------------------------------------------------------------------------------

const SERVICE_RESOURCES = ['count/services', 'services', 'services.nodeports', 'services.loadbalancers'];

class ServiceEvaluator implements QuotaEvaluator {
  readonly group = '';
  readonly resource = 'services';

  handles(): boolean {
    // Updates too: a Service may change type and so its node ports and load balancers.
    return true;
  }

  matchingResources(names: readonly string[]): string[] {
    return names.filter((n) => SERVICE_RESOURCES.includes(n));
  }

  matchesScope(): boolean {
    return false;
  }

  constraints(): undefined {
    return undefined;
  }

  usage(svc: KubeObject): Usage {
    const ports: any[] = Array.isArray(svc.spec?.ports) ? svc.spec.ports : [];
    let nodePorts: Amount = NONE;
    let loadBalancers: Amount = NONE;
    if (svc.spec?.type === 'NodePort') nodePorts = count(ports.length);
    if (svc.spec?.type === 'LoadBalancer') {
      // Without allocated node ports only the ports that name one explicitly use one.
      nodePorts = svc.spec?.allocateLoadBalancerNodePorts === false ? count(ports.filter((p) => p && p.nodePort).length) : count(ports.length);
      loadBalancers = ONE;
    }
    return new Map([
      ['count/services', ONE],
      ['services', ONE],
      ['services.loadbalancers', loadBalancers],
      ['services.nodeports', nodePorts],
    ]);
  }
}

// ---- persistent volume claims ------------------------------------------------------------------

const PVC_RESOURCES = ['persistentvolumeclaims', 'requests.storage'];
const STORAGE_CLASS_SUFFIX = '.storageclass.storage.k8s.io/';

function storageClassOf(pvc: KubeObject): string {
  const beta = pvc.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
  if (typeof beta === 'string') return beta;
  return typeof pvc.spec?.storageClassName === 'string' ? pvc.spec.storageClassName : '';
}

class PersistentVolumeClaimEvaluator implements QuotaEvaluator {
  readonly group = '';
  readonly resource = 'persistentvolumeclaims';

  handles(): boolean {
    // Updates too: a claim may grow.
    return true;
  }

  matchingResources(names: readonly string[]): string[] {
    return names.filter(
      (n) => n === 'count/persistentvolumeclaims' || PVC_RESOURCES.includes(n) || PVC_RESOURCES.some((r) => n.endsWith(STORAGE_CLASS_SUFFIX + r)),
    );
  }

  matchesScope(): boolean {
    return false;
  }

  constraints(): undefined {
    return undefined;
  }

  usage(pvc: KubeObject): Usage {
    const out: Usage = new Map([
      ['persistentvolumeclaims', ONE],
      ['count/persistentvolumeclaims', ONE],
    ]);
    const cls = storageClassOf(pvc);
    if (cls) out.set(`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`, ONE);
    const storage = toUsage(pvc.spec?.resources?.requests).get('storage');
    if (storage && storage.nano !== 0n) {
      // Counted in whole bytes (upstream rounds up: https://issue.k8s.io/94313).
      const whole = ((storage.nano + 999_999_999n) / 1_000_000_000n) * 1_000_000_000n;
      const rounded: Amount = { nano: whole, format: storage.format };
      out.set('requests.storage', rounded);
      if (cls) out.set(`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`, rounded);
    }
    return out;
  }
}

// ---- registry ----------------------------------------------------------------------------------

const LEGACY_COUNTED = ['configmaps', 'secrets', 'replicationcontrollers', 'resourcequotas'];

const BUILTIN: QuotaEvaluator[] = [
  new PodEvaluator(),
  new ServiceEvaluator(),
  new PersistentVolumeClaimEvaluator(),
  ...LEGACY_COUNTED.map((r) => new ObjectCountEvaluator('', r, r)),
];

const byResource = new Map<string, QuotaEvaluator>(BUILTIN.map((e) => [`${e.group}/${e.resource}`, e]));

/** The evaluator of a group and resource; any other resource is counted (`count/<resource>.<group>`). */
export function evaluatorFor(group: string, resource: string): QuotaEvaluator {
  const key = `${group}/${resource}`;
  let e = byResource.get(key);
  if (!e) {
    e = new ObjectCountEvaluator(group, resource);
    byResource.set(key, e);
  }
  return e;
}

/** The evaluators with special rules (the controller watches their resources always). */
export const BUILTIN_EVALUATORS: readonly QuotaEvaluator[] = BUILTIN;

// ---- quota matching ----------------------------------------------------------------------------

/** A quota's scopes and scopeSelector as one list of requirements. */
export function scopeSelectorsOf(quota: KubeObject): ScopeSelectorRequirement[] {
  const out: ScopeSelectorRequirement[] = [];
  for (const s of Array.isArray(quota.spec?.scopes) ? quota.spec.scopes : []) out.push({ scopeName: s, operator: 'Exists' });
  const exprs = quota.spec?.scopeSelector?.matchExpressions;
  if (Array.isArray(exprs)) for (const e of exprs) if (e && typeof e === 'object') out.push(e);
  return out;
}

/** Whether `obj` counts against `quota` (generic.Matches: a tracked resource, and every scope). */
export function quotaMatches(evaluator: QuotaEvaluator, quota: KubeObject, obj: KubeObject): boolean {
  const hard = Object.keys(quota.status?.hard ?? {});
  if (evaluator.matchingResources(hard).length === 0) return false;
  return scopeSelectorsOf(quota).every((s) => evaluator.matchesScope(s, obj));
}

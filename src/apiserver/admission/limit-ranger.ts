/**
 * LimitRanger, after upstream's plugin/pkg/admission/limitranger: a new pod's containers get the
 * `default` limits and `defaultRequest` requests of the LimitRanges (type Container) in their
 * namespace for what they do not set, noted in the `kubernetes.io/limit-ranger` annotation; then
 * pods and PersistentVolumeClaims are checked against min, max and maxLimitRequestRatio of the
 * Container, Pod and PersistentVolumeClaim limits. A refusal is 403 Forbidden with upstream's text.
 *
 * Pod updates are not checked: containers cannot be added and their resources cannot change.
 */
import type { KubeObject } from '../../api/types.js';
import type { Store } from '../../storage/store.js';
import type { WatchCache } from '../watch-cache.js';
import { quantityString } from '../../api/validation/quantity.js';
import { podResources, quantityText, toUsage, type Amount, type Usage } from '../../quota/resources.js';
import type { AdmissionAttributes, AdmissionPlugin } from './types.js';
import { admissionForbidden, aggregateMessage } from './forbidden.js';
import { namespaceObjects } from './namespace-objects.js';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';
const LIMIT_RANGE_PREFIX = '/registry/limitranges/';
/** Beyond this a quantity's milli-value would overflow int64; upstream compares whole units then. */
const MAX_MILLI_VALUE = 9_223_372_036_854_775n / 1000n;

interface LimitItem {
  type?: string;
  max?: Record<string, unknown>;
  min?: Record<string, unknown>;
  default?: Record<string, unknown>;
  defaultRequest?: Record<string, unknown>;
  maxLimitRequestRatio?: Record<string, unknown>;
}

function limitsOf(lr: KubeObject): LimitItem[] {
  const l = lr.spec?.limits;
  return Array.isArray(l) ? l.filter((i) => i && typeof i === 'object') : [];
}

function isPod(a: AdmissionAttributes): boolean {
  return a.entry.group === '' && a.entry.plural === 'pods';
}

function isClaim(a: AdmissionAttributes): boolean {
  return a.entry.group === '' && a.entry.plural === 'persistentvolumeclaims';
}

export function limitRanger(store: Store, cache: WatchCache): AdmissionPlugin {
  return {
    name: 'LimitRanger',
    // Defaults objects, so it runs in the mutating phase (its checks with it).
    async mutate(a) {
      if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
      if (a.subresource) return;
      if (!(isPod(a) && a.operation === 'CREATE') && !isClaim(a)) return;
      // Objects on their way out are left alone.
      if (a.old?.metadata?.deletionTimestamp) return;
      const ranges = await namespaceObjects(store, cache, LIMIT_RANGE_PREFIX, a.obj.metadata?.namespace ?? '');
      if (ranges.length === 0) return;
      if (isPod(a)) for (const lr of ranges) applyContainerDefaults(lr, a.obj);
      for (const lr of ranges) {
        const problems = isPod(a) ? podProblems(lr, a.obj) : claimProblems(lr, a.obj);
        if (problems.length > 0) throw admissionForbidden(a, aggregateMessage(problems));
      }
    },
  };
}

// ---- defaults ----------------------------------------------------------------------------------

/** defaultContainerResourceRequirements + mergePodResourceRequirements. */
function applyContainerDefaults(lr: KubeObject, pod: KubeObject): void {
  const requests: Record<string, unknown> = {};
  const limits: Record<string, unknown> = {};
  for (const item of limitsOf(lr)) {
    if (item.type !== 'Container') continue;
    Object.assign(requests, item.defaultRequest ?? {});
    Object.assign(limits, item.default ?? {});
  }
  if (Object.keys(requests).length === 0 && Object.keys(limits).length === 0) return;
  const notes: string[] = [];
  const merge = (containers: unknown, what: string) => {
    if (!Array.isArray(containers)) return;
    for (const c of containers) {
      if (!c || typeof c !== 'object') continue;
      const res = (c.resources ??= {});
      const setLimits: string[] = [];
      const setRequests: string[] = [];
      for (const [k, v] of Object.entries(limits)) {
        if (res.limits?.[k] === undefined) {
          (res.limits ??= {})[k] = v;
          setLimits.push(k);
        }
      }
      for (const [k, v] of Object.entries(requests)) {
        if (res.requests?.[k] === undefined) {
          (res.requests ??= {})[k] = v;
          setRequests.push(k);
        }
      }
      if (setRequests.length > 0) notes.push(`${setRequests.sort().join(', ')} request for ${what} ${c.name}`);
      if (setLimits.length > 0) notes.push(`${setLimits.sort().join(', ')} limit for ${what} ${c.name}`);
    }
  };
  merge(pod.spec?.containers, 'container');
  merge(pod.spec?.initContainers, 'init container');
  if (notes.length > 0) {
    const meta = (pod.metadata ??= {});
    meta.annotations = { ...(meta.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}` };
  }
}

// ---- validation --------------------------------------------------------------------------------

/** requestLimitEnforcedValues: milli-values (rounded up), or whole values when any is too large. */
function scaled(...amounts: (Amount | undefined)[]): bigint[] {
  const milli = (a: Amount | undefined) => (a ? ceilDiv(a.nano, 1_000_000n) : 0n);
  const whole = (a: Amount | undefined) => (a ? ceilDiv(a.nano, 1_000_000_000n) : 0n);
  const fits = amounts.every((a) => !a || whole(a) <= MAX_MILLI_VALUE);
  return amounts.map(fits ? milli : whole);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b > 0n ? q + 1n : q;
}

function text(v: unknown): string {
  return quantityString(v);
}

type Check = (type: string, resource: string, enforced: unknown, requests: Usage, limits: Usage) => string | undefined;

const minConstraint: Check = (type, r, enforced, requests, limits) => {
  const req = requests.get(r);
  const lim = limits.get(r);
  const [reqV, limV, enf] = scaled(req, lim, toUsage({ v: enforced }).get('v'));
  if (!req) return `minimum ${r} usage per ${type} is ${text(enforced)}.  No request is specified`;
  if (reqV < enf) return `minimum ${r} usage per ${type} is ${text(enforced)}, but request is ${quantityText(req)}`;
  if (lim && limV < enf) return `minimum ${r} usage per ${type} is ${text(enforced)}, but limit is ${quantityText(lim)}`;
  return undefined;
};

const maxConstraint: Check = (type, r, enforced, requests, limits) => {
  const req = requests.get(r);
  const lim = limits.get(r);
  const [reqV, limV, enf] = scaled(req, lim, toUsage({ v: enforced }).get('v'));
  if (!lim) return `maximum ${r} usage per ${type} is ${text(enforced)}.  No limit is specified`;
  if (limV > enf) return `maximum ${r} usage per ${type} is ${text(enforced)}, but limit is ${quantityText(lim)}`;
  if (req && reqV > enf) return `maximum ${r} usage per ${type} is ${text(enforced)}, but request is ${quantityText(req)}`;
  return undefined;
};

const maxRequestConstraint: Check = (type, r, enforced, requests) => {
  const req = requests.get(r);
  const [reqV, enf] = scaled(req, toUsage({ v: enforced }).get('v'));
  if (!req) return `maximum ${r} usage per ${type} is ${text(enforced)}.  No request is specified`;
  if (reqV > enf) return `maximum ${r} usage per ${type} is ${text(enforced)}, but request is ${quantityText(req)}`;
  return undefined;
};

const ratioConstraint: Check = (type, r, enforced, requests, limits) => {
  const req = requests.get(r);
  const lim = limits.get(r);
  const [reqV, limV] = scaled(req, lim, toUsage({ v: enforced }).get('v'));
  if (!req || reqV === 0n) return `${r} max limit to request ratio per ${type} is ${text(enforced)}, but no request is specified or request is 0`;
  if (!lim || limV === 0n) return `${r} max limit to request ratio per ${type} is ${text(enforced)}, but no limit is specified or limit is 0`;
  const observed = Number(limV) / Number(reqV);
  const [maxMilli] = scaled(toUsage({ v: enforced }).get('v'));
  // Compared in milli-units, as upstream does when the enforced value allows.
  if (observed * 1000 > Number(maxMilli)) return `${r} max limit to request ratio per ${type} is ${text(enforced)}, but provided ratio is ${observed.toFixed(6)}`;
  return undefined;
};

function check(item: LimitItem, type: string, requests: Usage, limits: Usage, maxCheck: Check, out: string[]): void {
  for (const [r, v] of Object.entries(item.min ?? {})) {
    const m = minConstraint(type, r, v, requests, type === 'PersistentVolumeClaim' ? new Map() : limits);
    if (m) out.push(m);
  }
  for (const [r, v] of Object.entries(item.max ?? {})) {
    const m = maxCheck(type, r, v, requests, limits);
    if (m) out.push(m);
  }
  if (type === 'PersistentVolumeClaim') return;
  for (const [r, v] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const m = ratioConstraint(type, r, v, requests, limits);
    if (m) out.push(m);
  }
}

/** PodValidateLimitFunc: each container against Container limits, the whole pod against Pod limits. */
function podProblems(lr: KubeObject, pod: KubeObject): string[] {
  const out: string[] = [];
  for (const item of limitsOf(lr)) {
    if (item.type === 'Container') {
      for (const field of ['containers', 'initContainers']) {
        const list = pod.spec?.[field];
        if (!Array.isArray(list)) continue;
        for (const c of list) {
          if (!c || typeof c !== 'object') continue;
          check(item, 'Container', toUsage(c.resources?.requests), toUsage(c.resources?.limits), maxConstraint, out);
        }
      }
    } else if (item.type === 'Pod') {
      check(item, 'Pod', podResources(pod, 'requests'), podResources(pod, 'limits'), maxConstraint, out);
    }
  }
  return out;
}

/** PersistentVolumeClaimValidateLimitFunc: a claim's requests against min and max. */
function claimProblems(lr: KubeObject, pvc: KubeObject): string[] {
  const out: string[] = [];
  for (const item of limitsOf(lr)) {
    if (item.type === 'PersistentVolumeClaim') check(item, 'PersistentVolumeClaim', toUsage(pvc.spec?.resources?.requests), new Map(), maxRequestConstraint, out);
  }
  return out;
}

/**
 * Resource quantities as the scheduler counts them: CPU in millicores, everything else in whole
 * units (bytes, devices), as plain numbers. A pod's request is computed once per pod object, as
 * upstream's resourcehelper.PodRequests: the larger of (sum of containers and sidecars) and (any
 * one init container plus the sidecars started before it), plus the pod overhead.
 */
import { quantityNano } from '../api/validation/quantity.js';

/** Requests of a resource that is not cpu, memory or ephemeral-storage: `[name, amount]` pairs. */
export type ScalarList = [string, number][];

export interface Requests {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  scalar: ScalarList | null;
}

/** Upstream's defaults for containers that request no cpu / memory, used only when scoring. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

const milliCache = new Map<string, number>();
const valueCache = new Map<string, number>();
const CACHE_MAX = 4096;

function cached(cache: Map<string, number>, q: unknown, convert: (nano: bigint) => number): number {
  if (typeof q !== 'string' && typeof q !== 'number') return 0;
  const key = typeof q === 'number' ? `#${q}` : q;
  let v = cache.get(key);
  if (v === undefined) {
    const nano = quantityNano(q);
    v = nano <= 0n ? 0 : convert(nano);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, v);
  }
  return v;
}

/** Quantity.MilliValue(), rounded up. */
export function milliValue(q: unknown): number {
  return cached(milliCache, q, (nano) => Number((nano + 999_999n) / 1_000_000n));
}

/** Quantity.Value(), rounded up. */
export function wholeValue(q: unknown): number {
  return cached(valueCache, q, (nano) => Number((nano + 999_999_999n) / 1_000_000_000n));
}

/**
 * Resources the scheduler counts besides cpu, memory, ephemeral-storage and pods: extended resources
 * (a domain outside kubernetes.io), hugepages and attachable volumes, as upstream's IsScalarResourceName.
 */
export function isScalarResourceName(name: string): boolean {
  if (name.startsWith('hugepages-') || name.startsWith('attachable-volumes-')) return true;
  const slash = name.indexOf('/');
  if (slash < 0) return false;
  const domain = name.slice(0, slash);
  if (domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io')) return false;
  return !name.startsWith('requests.');
}

type Acc = Map<string, number>;

function addList(acc: Acc, list: unknown, nonZero: boolean): void {
  const l = list !== null && typeof list === 'object' ? (list as Record<string, unknown>) : {};
  for (const name in l) {
    const q = l[name];
    const v = name === 'cpu' ? milliValue(q) : wholeValue(q);
    acc.set(name, (acc.get(name) ?? 0) + v);
  }
  if (nonZero) {
    if (!('cpu' in l)) acc.set('cpu', (acc.get('cpu') ?? 0) + DEFAULT_MILLI_CPU_REQUEST);
    if (!('memory' in l)) acc.set('memory', (acc.get('memory') ?? 0) + DEFAULT_MEMORY_REQUEST);
  }
}

function maxInto(acc: Acc, other: Acc): void {
  for (const [k, v] of other) if (v > (acc.get(k) ?? 0)) acc.set(k, v);
}

function addInto(acc: Acc, other: Acc): void {
  for (const [k, v] of other) acc.set(k, (acc.get(k) ?? 0) + v);
}

function requestsOf(c: any): unknown {
  return c?.resources?.requests;
}

/** The pod's effective requests by resource name; `nonZero` fills upstream's defaults for missing cpu/memory. */
export function podRequestMap(spec: any, nonZero: boolean): Acc {
  const reqs: Acc = new Map();
  for (const c of Array.isArray(spec?.containers) ? spec.containers : []) addList(reqs, requestsOf(c), nonZero);
  const sidecars: Acc = new Map();
  const initMax: Acc = new Map();
  for (const c of Array.isArray(spec?.initContainers) ? spec.initContainers : []) {
    const own: Acc = new Map();
    addList(own, requestsOf(c), nonZero);
    if (c?.restartPolicy === 'Always') {
      // A sidecar runs beside the containers for the pod's life, and beside every init container after it.
      addInto(reqs, own);
      addInto(sidecars, own);
      maxInto(initMax, sidecars);
    } else {
      addInto(own, sidecars);
      maxInto(initMax, own);
    }
  }
  maxInto(reqs, initMax);
  if (spec?.overhead && typeof spec.overhead === 'object') addList(reqs, spec.overhead, false);
  return reqs;
}

export function podRequests(spec: any): Requests {
  const m = podRequestMap(spec, false);
  let scalar: ScalarList | null = null;
  for (const [name, v] of m) {
    if (v > 0 && isScalarResourceName(name)) (scalar ??= []).push([name, v]);
  }
  return { milliCPU: m.get('cpu') ?? 0, memory: m.get('memory') ?? 0, ephemeralStorage: m.get('ephemeral-storage') ?? 0, scalar };
}

/** cpu and memory with upstream's non-zero defaults, for scoring. */
export function podNonZeroRequests(spec: any): { milliCPU: number; memory: number } {
  const m = podRequestMap(spec, true);
  return { milliCPU: m.get('cpu') ?? 0, memory: m.get('memory') ?? 0 };
}

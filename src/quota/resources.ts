/**
 * Resource lists as quota and limit ranges do arithmetic on them (upstream's quota/v1 helpers and
 * resourcehelper.PodRequests/PodLimits). Quantities are held exactly, as nano-units with the format
 * they print in, and turned back into canonical strings only when written.
 */
import { formatQuantity, parseQuantity, type QuantityFormat } from '../api/validation/quantity.js';
import type { KubeObject } from '../api/types.js';

export interface Amount {
  nano: bigint;
  format: QuantityFormat;
}

/** A ResourceList being computed: resource name → amount. */
export type Usage = Map<string, Amount>;

const ZERO: Amount = { nano: 0n, format: 'DecimalSI' };

export function amount(v: unknown): Amount {
  if (typeof v !== 'string' && typeof v !== 'number') return ZERO;
  const q = parseQuantity(typeof v === 'number' ? String(v) : v);
  if (typeof q === 'string' || q.nano === undefined) return ZERO;
  return { nano: q.nano, format: q.format };
}

export function count(n: number): Amount {
  return { nano: BigInt(n) * 1_000_000_000n, format: 'DecimalSI' };
}

/** A stored ResourceList (`{cpu: "100m"}`) as a Usage. */
export function toUsage(list: unknown): Usage {
  const u: Usage = new Map();
  if (list && typeof list === 'object' && !Array.isArray(list)) {
    for (const [k, v] of Object.entries(list)) u.set(k, amount(v));
  }
  return u;
}

/** The canonical strings of a Usage, keys sorted (as Go's JSON encoder writes a map). */
export function toResourceList(u: Usage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...u.keys()].sort()) out[k] = quantityText(u.get(k)!);
  return out;
}

export function quantityText(a: Amount): string {
  return formatQuantity({ nano: a.nano, format: a.format });
}

/** Quantity.Add: a zero takes the other's format. */
function plus(a: Amount, b: Amount): Amount {
  return { nano: a.nano + b.nano, format: a.nano === 0n ? b.format : a.format };
}

export function add(a: Usage, b: Usage): Usage {
  const out: Usage = new Map(a);
  for (const [k, v] of b) out.set(k, out.has(k) ? plus(out.get(k)!, v) : v);
  return out;
}

/** In place, for sums over many objects. */
export function addInto(into: Usage, b: Usage): void {
  for (const [k, v] of b) into.set(k, into.has(k) ? plus(into.get(k)!, v) : v);
}

export function subtract(a: Usage, b: Usage): Usage {
  const out: Usage = new Map(a);
  for (const [k, v] of b) {
    const cur = out.get(k) ?? ZERO;
    out.set(k, { nano: cur.nano - v.nano, format: cur.nano === 0n ? v.format : cur.format });
  }
  return out;
}

/** quota.SubtractWithNonNegativeResult. */
export function subtractNonNegative(a: Usage, b: Usage): Usage {
  const out = subtract(a, b);
  for (const [k, v] of out) if (v.nano < 0n) out.set(k, { ...v, nano: 0n });
  return out;
}

export function mask(u: Usage, names: Iterable<string>): Usage {
  const out: Usage = new Map();
  for (const n of names) if (u.has(n)) out.set(n, u.get(n)!);
  return out;
}

export function removeZeros(u: Usage): Usage {
  const out: Usage = new Map();
  for (const [k, v] of u) if (v.nano !== 0n) out.set(k, v);
  return out;
}

export function negatives(u: Usage): string[] {
  return [...u].filter(([, v]) => v.nano < 0n).map(([k]) => k);
}

/** quota.LessThanOrEqual: the names in `a` that exceed `b` (names `b` lacks are not limited). */
export function exceeding(a: Usage, b: Usage): string[] {
  const out: string[] = [];
  for (const [k, v] of a) {
    const limit = b.get(k);
    if (limit && v.nano > limit.nano) out.push(k);
  }
  return out.sort();
}

export function usageEquals(a: Usage, b: Usage): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const o = b.get(k);
    if (!o || o.nano !== v.nano) return false;
  }
  return true;
}

/** Upstream's prettyPrint: `k=v` pairs, sorted, joined with commas. */
export function prettyPrint(u: Usage): string {
  return [...u.keys()]
    .sort()
    .map((k) => `${k}=${quantityText(u.get(k)!)}`)
    .join(',');
}

function maxInto(into: Usage, b: Usage): void {
  for (const [k, v] of b) {
    const cur = into.get(k);
    if (!cur || v.nano > cur.nano) into.set(k, v);
  }
}

interface ContainerLike {
  name?: string;
  restartPolicy?: string;
  resources?: { requests?: unknown; limits?: unknown };
}

function containersOf(pod: KubeObject, field: 'containers' | 'initContainers'): ContainerLike[] {
  const list = pod.spec?.[field];
  return Array.isArray(list) ? list.filter((c) => c && typeof c === 'object') : [];
}

/**
 * What a pod asks for as a whole (resourcehelper.PodRequests / PodLimits): its containers and
 * sidecars summed, at least the largest init container (with the sidecars started before it), and
 * the RuntimeClass overhead (limits: only for resources some container limits).
 */
export function podResources(pod: KubeObject, which: 'requests' | 'limits'): Usage {
  const total: Usage = new Map();
  for (const c of containersOf(pod, 'containers')) addInto(total, toUsage(c.resources?.[which]));
  const sidecars: Usage = new Map();
  const init: Usage = new Map();
  for (const c of containersOf(pod, 'initContainers')) {
    const own = toUsage(c.resources?.[which]);
    let effective: Usage;
    if (c.restartPolicy === 'Always') {
      addInto(total, own);
      addInto(sidecars, own);
      effective = sidecars;
    } else {
      effective = add(own, sidecars);
    }
    maxInto(init, effective);
  }
  maxInto(total, init);
  const overhead = toUsage(pod.spec?.overhead);
  for (const [k, v] of overhead) {
    if (which === 'requests' || total.has(k)) total.set(k, total.has(k) ? plus(total.get(k)!, v) : v);
  }
  return total;
}

export function containerList(pod: KubeObject): ContainerLike[] {
  return [...containersOf(pod, 'containers'), ...containersOf(pod, 'initContainers')];
}

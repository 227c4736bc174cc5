/**
 * The downward API's values, as the kubelet computes them for env (podFieldSelectorRuntimeValue,
 * containerResourceRuntimeValue) and for downwardAPI volume files (fieldpath.ExtractFieldPathAsString,
 * resource.ExtractResourceValueByContainerNameAndNodeAllocatable), with upstream's error texts.
 */
import type { KubeObject } from '../../api/types.js';
import { goQuote } from '../../api/selectors.js';
import { quantityNano } from '../../api/validation/quantity.js';

/** Where the pod runs, for status.* fields. */
export interface PodRuntimeFacts {
  podIPs?: string[];
  hostIPs?: string[];
}

/** Node allocatable resources ("cpu", "memory", "ephemeral-storage", "hugepages-…") as quantities. */
export type ResourceList = Record<string, string | number>;

/** `metadata.labels['key']` → path and subscript (SplitMaybeSubscriptedPath). */
export function splitSubscriptedPath(fieldPath: string): { path: string; subscript: string } | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const i = fieldPath.indexOf("['");
  if (i < 0) return undefined;
  return { path: fieldPath.slice(0, i), subscript: fieldPath.slice(i + 2, -2) };
}

/** Labels or annotations as `key="value"` lines, sorted by key (fieldpath.FormatMap). */
export function formatMap(m: Record<string, string> | undefined): string {
  if (!m) return '';
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${goQuote(m[k])}`)
    .join('\n');
}

/** ConvertDownwardAPIFieldLabel: which field labels a fieldRef may name. */
function convertFieldLabel(apiVersion: string | undefined, label: string): string {
  if (apiVersion && apiVersion !== 'v1') throw new Error(`unsupported pod version: ${apiVersion}`);
  const sub = splitSubscriptedPath(label);
  if (sub) {
    if (sub.path === 'metadata.annotations' || sub.path === 'metadata.labels') return label;
    throw new Error(`field label does not support subscript: ${label}`);
  }
  switch (label) {
    case 'metadata.annotations':
    case 'metadata.labels':
    case 'metadata.name':
    case 'metadata.namespace':
    case 'metadata.uid':
    case 'spec.nodeName':
    case 'spec.restartPolicy':
    case 'spec.serviceAccountName':
    case 'spec.schedulerName':
    case 'status.phase':
    case 'status.hostIP':
    case 'status.hostIPs':
    case 'status.podIP':
    case 'status.podIPs':
      return label;
    case 'spec.host':
      return 'spec.nodeName';
    default:
      throw new Error(`field label not supported: ${label}`);
  }
}

/** ExtractFieldPathAsString: the metadata fields (what downwardAPI volumes may project). */
export function extractFieldPathAsString(pod: KubeObject, fieldPath: string): string {
  const meta = pod.metadata ?? {};
  const sub = splitSubscriptedPath(fieldPath);
  if (sub) {
    switch (sub.path) {
      case 'metadata.annotations':
        return meta.annotations?.[sub.subscript] ?? '';
      case 'metadata.labels':
        return meta.labels?.[sub.subscript] ?? '';
      default:
        throw new Error(`fieldPath ${goQuote(fieldPath)} does not support subscript`);
    }
  }
  switch (fieldPath) {
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
  }
  throw new Error(`unsupported fieldPath: ${fieldPath}`);
}

/** An env var's fieldRef value (podFieldSelectorRuntimeValue). */
export function podFieldValue(fieldRef: { apiVersion?: string; fieldPath?: string }, pod: KubeObject, facts: PodRuntimeFacts): string {
  const path = convertFieldLabel(fieldRef.apiVersion, fieldRef.fieldPath ?? '');
  const podIPs = facts.podIPs ?? [];
  switch (path) {
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs': {
      const hostIPs = facts.hostIPs ?? [];
      if (hostIPs.length === 0) throw new Error('failed to get host IPs: the node has no address');
      return path === 'status.hostIP' ? hostIPs[0] : hostIPs.join(',');
    }
    case 'status.podIP':
      return podIPs[0] ?? '';
    case 'status.podIPs':
      return podIPs.join(',');
  }
  return extractFieldPathAsString(pod, path);
}

const ONE = 1_000_000_000n;
const MILLI = 1_000_000n;

function ceilDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const q = a / b;
  return q * b === a || a < 0n !== b < 0n ? q : q + 1n;
}

/** Quantity.MilliValue() / Value(): rounded up. */
function milliOf(q: unknown): bigint {
  return ceilDiv(quantityNano(q), MILLI);
}
function valueOf(q: unknown): bigint {
  return ceilDiv(quantityNano(q), ONE);
}

const LIMITABLE = ['cpu', 'memory', 'ephemeral-storage'];

/** A container with limits it does not set taken from node allocatable (MergeContainerResourceLimits). */
export function withDefaultLimits(container: any, allocatable: ResourceList | undefined): any {
  if (!allocatable) return container;
  const limits: Record<string, unknown> = { ...(container?.resources?.limits ?? {}) };
  for (const [name, v] of Object.entries(allocatable)) {
    const merge = LIMITABLE.includes(name) || name.startsWith('hugepages-');
    if (merge && (limits[name] === undefined || quantityNano(limits[name]) === 0n)) limits[name] = v;
  }
  return { ...container, resources: { ...(container?.resources ?? {}), limits } };
}

function findContainer(pod: KubeObject, name: string): any {
  for (const c of pod.spec?.containers ?? []) if (c?.name === name) return c;
  for (const c of pod.spec?.initContainers ?? []) if (c?.name === name) return c;
  throw new Error(`container ${name} not found`);
}

/**
 * A resourceFieldRef's value (ExtractContainerResourceValue): cpu in divisor units of millicores and
 * memory/storage in divisor units of bytes, both rounded up; limits not set default to node
 * allocatable. `container` is the one the env belongs to (unused when the ref names a container).
 */
export function resourceFieldValue(
  ref: { containerName?: string; resource?: string; divisor?: string | number },
  pod: KubeObject,
  container: any,
  allocatable: ResourceList | undefined,
): string {
  const target = withDefaultLimits(ref.containerName ? findContainer(pod, ref.containerName) : container, allocatable);
  const divisor = ref.divisor === undefined || quantityNano(ref.divisor) === 0n ? '1' : ref.divisor;
  const resource = ref.resource ?? '';
  const dot = resource.indexOf('.');
  const kind = resource.slice(0, dot);
  const name = resource.slice(dot + 1);
  if (dot > 0 && (kind === 'limits' || kind === 'requests')) {
    const list: Record<string, unknown> = target?.resources?.[kind] ?? {};
    const q = list[name] ?? '0';
    if (name === 'cpu') return String(ceilDiv(milliOf(q), milliOf(divisor)));
    if (name === 'memory' || name === 'ephemeral-storage' || name.startsWith('hugepages-')) return String(ceilDiv(valueOf(q), valueOf(divisor)));
  }
  throw new Error(`unsupported container resource : ${resource}`);
}

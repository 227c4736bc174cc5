/**
 * What the Endpoints and EndpointSlice controllers share, after upstream's endpointslice/util and
 * podutil: which pods a Service selects, which Services a pod change concerns, which pods belong in
 * endpoints, the port a service port resolves to on a pod, and the last-change-trigger-time tracker.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { KubeObject } from '../api/types.js';
import { labelSelectorFromSet, type LabelPredicate } from '../api/selectors.js';
import type { Informer, IndexFunc } from '../client/informer.js';
import { isPodReady, isPodTerminal, keyOf, parseTime, podCondition } from './pods.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const ANNOTATION_LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

export const NAMESPACE_INDEX = 'namespace';
export const NODE_NAME_INDEX = 'spec.nodeName';

/**
 * Adds an index to a shared informer unless one of that name is there already: controllers sharing
 * an informer agree on what the canonical indexes (`namespace`, `spec.nodeName`) mean.
 */
export function ensureIndexer(inf: Informer, name: string, fn: IndexFunc): void {
  try {
    inf.addIndexer(name, fn);
  } catch (err) {
    if (!(err instanceof Error && err.message.includes('already exists'))) throw err;
  }
}

export const byNamespace: IndexFunc = (obj) => [obj.metadata?.namespace ?? ''];
export const byNodeName: IndexFunc = (obj) => (obj.spec?.nodeName ? [String(obj.spec.nodeName)] : []);

const selectors = new WeakMap<object, LabelPredicate | null>();

/**
 * The pods a Service selects, or undefined when it has no selector. An empty selector counts as none:
 * upstream stores it as nil, and a nil selector selects nothing (endpoints come from elsewhere).
 */
export function serviceSelector(svc: KubeObject): LabelPredicate | undefined {
  const spec = svc.spec;
  if (!spec || typeof spec !== 'object') return undefined;
  let sel = selectors.get(spec);
  if (sel === undefined) {
    const raw = spec.selector;
    const valid = raw && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length > 0;
    sel = valid ? labelSelectorFromSet(raw as Record<string, string>) : null;
    selectors.set(spec, sel);
  }
  return sel ?? undefined;
}

/** The pods of the Service's namespace that its selector matches (the pod informer has the namespace index). */
export function podsForService(pods: Informer, svc: KubeObject): KubeObject[] {
  const sel = serviceSelector(svc);
  if (!sel) return [];
  return pods.byIndex(NAMESPACE_INDEX, svc.metadata?.namespace ?? '').filter((p) => sel.matches(p.metadata?.labels));
}

/** Keys of the Services in `namespace` whose selector matches `labels` (the service informer has the namespace index). */
export function servicesMatching(services: Informer, namespace: string, labels: Record<string, string> | undefined): Set<string> {
  const out = new Set<string>();
  for (const svc of services.byIndex(NAMESPACE_INDEX, namespace)) {
    const sel = serviceSelector(svc);
    if (sel?.matches(labels)) out.add(keyOf(svc));
  }
  return out;
}

function hostnameAndSubdomainEqual(a: KubeObject, b: KubeObject): boolean {
  return (a.spec?.hostname ?? '') === (b.spec?.hostname ?? '') && (a.spec?.subdomain ?? '') === (b.spec?.subdomain ?? '');
}

function podIPList(pod: KubeObject): string[] {
  const ips = (pod.status?.podIPs as { ip?: string }[] | undefined)?.map((p) => p?.ip ?? '').filter(Boolean) ?? [];
  if (ips.length === 0 && pod.status?.podIP) ips.push(String(pod.status.podIP));
  return ips;
}

function labelsEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => (a ?? {})[k] === (b ?? {})[k]);
}

/**
 * Upstream's podEndpointsChanged: whether the change may alter the pod's endpoint (deletion,
 * readiness, IPs), and whether it may alter which Services select it (labels, hostname, subdomain).
 */
export function podEndpointsChanged(oldPod: KubeObject, newPod: KubeObject): { podChanged: boolean; labelsChanged: boolean } {
  const labelsChanged = !labelsEqual(oldPod.metadata?.labels, newPod.metadata?.labels) || !hostnameAndSubdomainEqual(oldPod, newPod);
  const podChanged =
    (oldPod.metadata?.deletionTimestamp ?? '') !== (newPod.metadata?.deletionTimestamp ?? '') ||
    isPodReady(oldPod) !== isPodReady(newPod) ||
    podIPList(oldPod).join(',') !== podIPList(newPod).join(',') ||
    // Not upstream's test, but a pod turning terminal leaves endpoints and the kubelet sets phase and readiness apart.
    isPodTerminal(oldPod) !== isPodTerminal(newPod) ||
    (oldPod.spec?.nodeName ?? '') !== (newPod.spec?.nodeName ?? '');
  return { podChanged, labelsChanged };
}

/**
 * The Services to sync for a pod event, as upstream's GetServicesToUpdateOnPodChange: on a label
 * change, the union of old and new memberships if the endpoint changed too, else their symmetric
 * difference.
 */
export function servicesForPodEvent(services: Informer, oldPod: KubeObject | undefined, newPod: KubeObject | undefined): Set<string> {
  const pod = newPod ?? oldPod;
  if (!pod) return new Set();
  const ns = pod.metadata?.namespace ?? '';
  if (!oldPod || !newPod) return servicesMatching(services, ns, pod.metadata?.labels);
  if (oldPod.metadata?.resourceVersion === newPod.metadata?.resourceVersion) return new Set();
  const { podChanged, labelsChanged } = podEndpointsChanged(oldPod, newPod);
  if (!podChanged && !labelsChanged) return new Set();
  const current = servicesMatching(services, ns, newPod.metadata?.labels);
  if (!labelsChanged) return current;
  const before = servicesMatching(services, ns, oldPod.metadata?.labels);
  const out = new Set<string>();
  if (podChanged) {
    for (const k of current) out.add(k);
    for (const k of before) out.add(k);
  } else {
    for (const k of current) if (!before.has(k)) out.add(k);
    for (const k of before) if (!current.has(k)) out.add(k);
  }
  return out;
}

/** Queues the Services an add, change or delete of a pod concerns (both endpoint controllers). */
export function enqueueServicesOfPods(pods: Informer, services: Informer, add: (key: string) => void): void {
  const enqueueAll = (keys: Set<string>) => {
    for (const k of keys) add(k);
  };
  pods
    .onAdd((pod) => enqueueAll(servicesForPodEvent(services, undefined, pod)))
    .onUpdate((old, pod) => enqueueAll(servicesForPodEvent(services, old, pod)))
    .onDelete((pod) => enqueueAll(servicesForPodEvent(services, pod, undefined)));
}

/** Upstream's ShouldPodBeInEndpoints: not terminal, has an IP, and not terminating unless those count. */
export function shouldPodBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (podIPList(pod).length === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** A pod is known by its hostname in the Service named by its subdomain. */
export function shouldSetHostname(pod: KubeObject, svc: KubeObject): boolean {
  const hostname = pod.spec?.hostname;
  return typeof hostname === 'string' && hostname !== '' && pod.spec?.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

export function isServiceIPSet(svc: KubeObject): boolean {
  const ip = svc.spec?.clusterIP;
  return typeof ip === 'string' && ip !== '' && ip !== 'None';
}

export function isHeadlessWithoutPorts(svc: KubeObject): boolean {
  return (svc.spec?.ports?.length ?? 0) === 0 && svc.spec?.clusterIP === 'None';
}

export interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
  targetPort?: number | string;
}

/**
 * The pod port a service port reaches, as upstream's FindPort: a number is taken as is; a name is
 * looked up among the containers' ports of the same protocol (then sidecars': restartable init
 * containers). Undefined when no container declares it, and the port is then left out for this pod.
 */
export function findPort(pod: KubeObject, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string' || target === '') return undefined;
  if (/^[0-9]+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? 'TCP';
  const lookIn = (containers: any[] | undefined, sidecarsOnly: boolean): number | undefined => {
    for (const c of containers ?? []) {
      if (sidecarsOnly && c?.restartPolicy !== 'Always') continue;
      for (const p of c?.ports ?? []) {
        if (p?.name === target && (p.protocol ?? 'TCP') === protocol && typeof p.containerPort === 'number') return p.containerPort;
      }
    }
    return undefined;
  };
  return lookIn(pod.spec?.containers, false) ?? lookIn(pod.spec?.initContainers, true);
}

export type IPFamily = 'IPv4' | 'IPv6';

/** The family of an IP string, or undefined when it is no IP. */
export function ipFamilyOf(ip: string): IPFamily | undefined {
  if (isIPv4(ip)) return 'IPv4';
  if (isIPv6(ip)) return 'IPv6';
  return undefined;
}

/** The pod's IPs (status.podIPs, or status.podIP for writers that set only that). */
export function podIPs(pod: KubeObject): string[] {
  return podIPList(pod);
}

function triggerTimeOfPod(pod: KubeObject): number {
  return parseTime(podCondition(pod, 'Ready')?.lastTransitionTime) ?? 0;
}

function creationOf(obj: KubeObject): number {
  const ms = Date.parse(obj.metadata?.creationTimestamp ?? '');
  return Number.isFinite(ms) ? ms : 0;
}

/**
 * Upstream's TriggerTimeTracker: the time of the earliest change (a pod's Ready transition, or the
 * Service's creation) not yet reflected in the Service's endpoints, for the
 * `endpoints.kubernetes.io/last-change-trigger-time` annotation. 0 means none.
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, { pods: Map<string, number>; service: number }>();

  compute(svc: KubeObject, pods: readonly KubeObject[]): number {
    const key = keyOf(svc);
    const state = this.states.get(key);
    let min = 0;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = triggerTimeOfPod(pod);
      if (t === 0) continue;
      const name = pod.metadata?.name ?? '';
      podTimes.set(name, t);
      if (t > (state?.pods.get(name) ?? 0) && (min === 0 || t < min)) min = t;
    }
    const serviceTime = creationOf(svc);
    if (serviceTime > (state?.service ?? 0) && (min === 0 || serviceTime < min)) min = serviceTime;
    this.states.set(key, { pods: podTimes, service: serviceTime });
    return state ? min : serviceTime;
  }

  delete(key: string): void {
    this.states.delete(key);
  }
}

/** As Go's time.RFC3339Nano in UTC: fractional seconds only when there are any, trailing zeros dropped. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}

/** Whether resourceVersion `have` is at least `want` (skiff's are store revisions, so they order). */
export function rvAtLeast(have: string | undefined, want: string): boolean {
  if (!have) return false;
  try {
    return BigInt(have) >= BigInt(want);
  } catch {
    return have === want;
  }
}

/**
 * The Endpoints controller, after upstream's endpoint controller (kube-controller-manager 1.30):
 * every Service with a selector gets a core/v1 Endpoints of the same name whose subsets list the
 * selected pods' addresses (ready in `addresses`, others in `notReadyAddresses`) with the ports they
 * resolve, packed as upstream's RepackSubsets packs them (addresses that serve the same ports share
 * a subset) and sorted so the object is stable. What `kubectl describe service` and
 * `kubectl get endpoints` show.
 *
 * Services without a selector (`default/kubernetes`) keep the Endpoints someone else writes; the
 * Endpoints of a Service that is gone are deleted, and at start every Endpoints is looked at once
 * (leader-election records aside), as upstream's checkLeftoverEndpoints does.
 *
 * Sorting differs in one respect: upstream orders ports and subsets by a hash of their Go dump, an
 * order nobody can rely on; here ports go by name, port and protocol and subsets by their content.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../client/events.js';
import type { ControllerContext } from './context.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { ENDPOINTS, PODS, SERVICES, isPodReady, keyOf, splitKey } from './pods.js';
import {
  ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
  LABEL_HEADLESS,
  NAMESPACE_INDEX,
  TriggerTimeTracker,
  byNamespace,
  ensureIndexer,
  findPort,
  ipFamilyOf,
  isServiceIPSet,
  podIPs,
  podsForService,
  rfc3339Nano,
  rvAtLeast,
  serviceSelector,
  enqueueServicesOfPods,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  type IPFamily,
  type ServicePort,
} from './service-pods.js';

/** Upstream's maxCapacity: beyond this many addresses an Endpoints is truncated and says so. */
const MAX_CAPACITY = 1000;
const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
const LEADER_ELECTION_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export type EndpointsControllerOptions = ControllerOptions;

interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string; resourceVersion?: string; apiVersion?: string; fieldPath?: string };
}

interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

function addressKey(a: EndpointAddress): string {
  return `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
}

function portKey(p: EndpointPort): string {
  return JSON.stringify([p.name ?? '', p.port, p.protocol, p.appProtocol ?? null]);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byIPAndUID(a: EndpointAddress, b: EndpointAddress): number {
  return compareStrings(a.ip, b.ip) || compareStrings(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '');
}

function byPort(a: EndpointPort, b: EndpointPort): number {
  return compareStrings(a.name ?? '', b.name ?? '') || a.port - b.port || compareStrings(a.protocol, b.protocol);
}

/**
 * Upstream's RepackSubsets: every address is mapped to the ports it serves (not-ready on any one
 * subset makes it not ready for that port), then ports with the same set of addresses share a subset.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const SENTINEL = '\u0000none';
  const addrs = new Map<string, EndpointAddress>();
  const ports = new Map<string, EndpointPort | undefined>();
  const readyByPort = new Map<string, Map<string, boolean>>();
  const note = (a: EndpointAddress, pk: string, ready: boolean) => {
    const ak = addressKey(a);
    if (!addrs.has(ak)) addrs.set(ak, a);
    let m = readyByPort.get(pk);
    if (!m) readyByPort.set(pk, (m = new Map()));
    const was = m.get(ak);
    if (was === undefined || was) m.set(ak, ready);
  };
  for (const ss of subsets) {
    const list = ss.ports?.length ? ss.ports : [undefined];
    for (const p of list) {
      const pk = p ? portKey(p) : SENTINEL;
      if (!ports.has(pk)) ports.set(pk, p);
      for (const a of ss.addresses ?? []) note(a, pk, true);
      for (const a of ss.notReadyAddresses ?? []) note(a, pk, false);
    }
  }
  const groups = new Map<string, { set: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const [pk, set] of readyByPort) {
    const gk = [...set].map(([ak, r]) => `${ak}\u0000${r ? 1 : 0}`).sort().join('\u0001');
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { set, ports: [] }));
    const p = ports.get(pk);
    if (p) g.ports.push(p);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [ak, r] of g.set) (r ? ready : notReady).push(addrs.get(ak)!);
    const ss: EndpointSubset = {};
    if (ready.length > 0) ss.addresses = ready.sort(byIPAndUID);
    if (notReady.length > 0) ss.notReadyAddresses = notReady.sort(byIPAndUID);
    if (g.ports.length > 0) ss.ports = g.ports.sort(byPort);
    out.push(ss);
  }
  return out.sort((a, b) => compareStrings(subsetSortKey(a), subsetSortKey(b)));
}

function subsetSortKey(ss: EndpointSubset): string {
  const ips = (l?: EndpointAddress[]) => (l ?? []).map(addressKey).join(',');
  return `${ips(ss.addresses)}|${ips(ss.notReadyAddresses)}|${(ss.ports ?? []).map(portKey).join(',')}`;
}

/** Subsets as compared: empty lists and missing ones alike, the pods' resourceVersions ignored. */
function canonicalSubsets(subsets: unknown): string {
  const addr = (a: EndpointAddress) => [a.ip ?? '', a.hostname ?? '', a.nodeName ?? '', a.targetRef ? [a.targetRef.kind ?? '', a.targetRef.namespace ?? '', a.targetRef.name ?? '', a.targetRef.uid ?? '', a.targetRef.apiVersion ?? '', a.targetRef.fieldPath ?? ''] : null];
  const port = (p: EndpointPort) => [p.name ?? '', p.port ?? 0, p.protocol ?? '', p.appProtocol ?? null];
  const list = Array.isArray(subsets) ? (subsets as EndpointSubset[]) : [];
  return JSON.stringify(list.map((ss) => [(ss.addresses ?? []).map(addr), (ss.notReadyAddresses ?? []).map(addr), (ss.ports ?? []).map(port)]));
}

function labelsEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => (a ?? {})[k] === (b ?? {})[k]);
}

/** Upstream's truncateEndpoints: keeps MAX_CAPACITY addresses, ready ones first, spread by each subset's share. */
function truncate(subsets: EndpointSubset[]): boolean {
  let ready = 0;
  let notReady = 0;
  for (const ss of subsets) {
    ready += ss.addresses?.length ?? 0;
    notReady += ss.notReadyAddresses?.length ?? 0;
  }
  if (ready + notReady <= MAX_CAPACITY) return false;
  const truncateReady = ready > MAX_CAPACITY;
  const max = truncateReady ? MAX_CAPACITY : MAX_CAPACITY - ready;
  const total = truncateReady ? ready : notReady;
  let room = max;
  for (const ss of subsets) {
    const n = truncateReady ? (ss.addresses?.length ?? 0) : (ss.notReadyAddresses?.length ?? 0);
    const share = Math.min(Math.ceil((n / total) * max), room);
    if (truncateReady) {
      ss.addresses = (ss.addresses ?? []).slice(0, share);
      delete ss.notReadyAddresses;
      room -= ss.addresses.length;
    } else {
      ss.notReadyAddresses = (ss.notReadyAddresses ?? []).slice(0, share);
      room -= ss.notReadyAddresses.length;
    }
  }
  return true;
}

function ipFamilyForService(svc: KubeObject, pod: KubeObject): IPFamily {
  const fams = (svc.spec?.ipFamilies ?? []) as string[];
  if (fams[0] === 'IPv4' || fams[0] === 'IPv6') return fams[0];
  if (isServiceIPSet(svc)) return ipFamilyOf(String(svc.spec.clusterIP)) === 'IPv6' ? 'IPv6' : 'IPv4';
  // A headless Service without families: the pod's primary IP says.
  return ipFamilyOf(String(pod.status?.podIP ?? '')) === 'IPv6' ? 'IPv6' : 'IPv4';
}

function podAddress(svc: KubeObject, pod: KubeObject): EndpointAddress | undefined {
  const family = ipFamilyForService(svc, pod);
  const ip = podIPs(pod).find((i) => ipFamilyOf(i) === family);
  if (!ip) return undefined;
  const a: EndpointAddress = { ip };
  if (shouldSetHostname(pod, svc)) a.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  a.targetRef = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
  return a;
}

export class EndpointsController extends InformerController {
  private readonly services: Informer;
  private readonly pods: Informer;
  private readonly endpoints: Informer;
  private readonly recorder: EventRecorder;
  private readonly triggerTimes = new TriggerTimeTracker();
  /** The resourceVersion we last wrote per Endpoints: an informer showing an older one is stale. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly ctx: ControllerContext,
    opts: EndpointsControllerOptions = {},
  ) {
    // Upstream's --concurrent-endpoint-syncs defaults to 5.
    super('endpoints controller', { workers: 5, log: ctx.log, ...opts });
    this.recorder = ctx.recorder('endpoint-controller');
    this.services = ctx.informers.informer(SERVICES);
    this.pods = ctx.informers.informer(PODS);
    this.endpoints = ctx.informers.informer(ENDPOINTS);
    ensureIndexer(this.services, NAMESPACE_INDEX, byNamespace);
    ensureIndexer(this.pods, NAMESPACE_INDEX, byNamespace);
    this.share(this.services, this.pods, this.endpoints);

    const enqueue = (obj: KubeObject) => this.queue.add(keyOf(obj));
    this.services.onAdd(enqueue).onUpdate((_o, svc) => enqueue(svc)).onDelete(enqueue);
    enqueueServicesOfPods(this.pods, this.services, (k) => this.queue.add(k));
    this.endpoints.onDelete((ep) => {
      this.written.delete(keyOf(ep));
      enqueue(ep);
    });
  }

  /** Starts, then looks once at every Endpoints, so those left by a deleted Service go too. */
  override async start(): Promise<void> {
    await super.start();
    for (const ep of this.endpoints.list()) {
      if (ep.metadata?.annotations?.[LEADER_ELECTION_ANNOTATION] === undefined) this.queue.add(keyOf(ep));
    }
  }

  override async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(key);
    if (!svc) {
      try {
        await this.ctx.client.delete(ENDPOINTS, namespace, name);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
      this.triggerTimes.delete(key);
      this.written.delete(key);
      return;
    }
    if (svc.spec?.type === 'ExternalName' || !serviceSelector(svc)) return;

    const pods = podsForService(this.pods, svc);
    // Computed on every sync, so the tracker follows changes even when nothing is written.
    const triggerMs = this.triggerTimes.compute(svc, pods);
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    const headlessWithoutPorts = (svc.spec?.ports?.length ?? 0) === 0;

    const raw: EndpointSubset[] = [];
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
      const addr = podAddress(svc, pod);
      if (!addr) continue;
      const ready = publishNotReady || isPodReady(pod);
      const add = (ports: EndpointPort[]) => raw.push(ready ? { addresses: [addr], ports } : { notReadyAddresses: [addr], ports });
      if (headlessWithoutPorts) {
        if (svc.spec?.clusterIP === 'None') add([]);
        continue;
      }
      for (const sp of (svc.spec?.ports ?? []) as ServicePort[]) {
        const port = findPort(pod, sp);
        if (port === undefined) continue;
        const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
        if (sp.name) ep.name = sp.name;
        if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
        add([ep]);
      }
    }
    const subsets = repackSubsets(raw);

    const current = this.endpoints.get(key);
    const wrote = this.written.get(key);
    if (wrote !== undefined && !rvAtLeast(current?.metadata?.resourceVersion, wrote)) {
      throw new ApiError(409, 'Conflict', `endpoints informer cache is out of date for ${key}`);
    }
    const svcLabels = (svc.metadata?.labels ?? {}) as Record<string, string>;
    if (current) {
      const have = { ...(current.metadata?.labels ?? {}) } as Record<string, string>;
      delete have[LABEL_HEADLESS];
      const count = (current.subsets ?? []).reduce((n: number, ss: EndpointSubset) => n + (ss.addresses?.length ?? 0) + (ss.notReadyAddresses?.length ?? 0), 0);
      const capacityOk = count <= MAX_CAPACITY && current.metadata?.annotations?.[ANNOTATION_OVER_CAPACITY] === undefined;
      if (canonicalSubsets(current.subsets) === canonicalSubsets(subsets) && labelsEqual(have, svcLabels) && capacityOk) return;
    }

    const next: KubeObject = current ? structuredClone(current) : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace } };
    const annotations = { ...next.metadata!.annotations } as Record<string, string>;
    if (triggerMs > 0) annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(triggerMs);
    else delete annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME];
    if (truncate(subsets)) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
    else delete annotations[ANNOTATION_OVER_CAPACITY];
    const labels = { ...svcLabels };
    if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
    next.metadata!.labels = labels;
    if (Object.keys(annotations).length > 0) next.metadata!.annotations = annotations;
    else delete next.metadata!.annotations;
    if (subsets.length > 0) next.subsets = subsets;
    else delete next.subsets;

    try {
      const out = current ? await this.ctx.client.update(ENDPOINTS, namespace, next) : await this.ctx.client.create(ENDPOINTS, namespace, next);
      if (out.metadata?.resourceVersion) this.written.set(key, out.metadata.resourceVersion);
    } catch (err) {
      if (!current && err instanceof ApiError && err.code === 403 && /being terminated/.test(err.message)) return;
      if (!(err instanceof ApiError && err.code === 409)) {
        if (current) this.recorder.event(next, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${key}: ${(err as Error).message}`);
        else this.recorder.event(next, 'Warning', 'FailedToCreateEndpoint', `Failed to create endpoint for service ${key}: ${(err as Error).message}`);
      }
      throw err;
    }
  }
}

/**
 * The EndpointSlice controller, after upstream's endpointslice controller and reconciler
 * (kube-controller-manager 1.30): every Service with a selector gets EndpointSlices
 * (`kubernetes.io/service-name`, managed by `endpointslice-controller.k8s.io`, owned by the Service)
 * listing one endpoint per selected pod with an IP, grouped by the ports the pod resolves.
 *
 * Churn is kept low as upstream keeps it: existing slices are updated in place (endpoints that left
 * are dropped, changed ones rewritten), leftovers fill slices already being written, then the
 * unchanged slice that would end up fullest, and only then new slices; a slice that would be deleted
 * while another is created is reused instead. An unchanged slice is never written.
 *
 * The informer may lag our own writes: a tracker remembers what we wrote and deleted, and a sync
 * that would read older slices than that waits (409, retried) rather than creating duplicates.
 *
 * Not done: topology hints and trafficDistribution, EndpointSlice mirroring.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../client/events.js';
import type { ControllerContext } from './context.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { ENDPOINT_SLICES, NODES, PODS, SERVICES, isPodReady, keyOf, newControllerRef } from './pods.js';
import {
  ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  NAMESPACE_INDEX,
  NODE_NAME_INDEX,
  TriggerTimeTracker,
  byNamespace,
  byNodeName,
  ensureIndexer,
  findPort,
  ipFamilyOf,
  isHeadlessWithoutPorts,
  isServiceIPSet,
  podIPs,
  rfc3339Nano,
  serviceSelector,
  enqueueServicesOfPods,
  servicesMatching,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  podsForService,
  rvAtLeast,
  type IPFamily,
  type ServicePort,
} from './service-pods.js';

export const ENDPOINTSLICE_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
const SERVICE_INDEX = 'endpointslice-controller.k8s.io/service';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface EndpointSliceControllerOptions extends ControllerOptions {
  /** Endpoints per slice (kube-controller-manager's --max-endpoints-per-slice, default 100). */
  maxEndpointsPerSlice?: number;
}

interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

interface Endpoint {
  addresses: string[];
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string; apiVersion?: string; resourceVersion?: string; fieldPath?: string };
  nodeName?: string;
  zone?: string;
  [field: string]: unknown;
}

type Slice = KubeObject & { endpoints: Endpoint[]; ports?: EndpointPort[]; addressType: string };

/** Endpoints of one port mapping, keyed as upstream hashes them: addresses, hostname and pod. */
type EndpointSet = Map<string, Endpoint>;

function endpointKey(ep: Endpoint): string {
  const addrs = [...(ep.addresses ?? [])].sort().join(',');
  return `${addrs}|${ep.hostname ?? ''}|${ep.targetRef?.namespace ?? ''}/${ep.targetRef?.name ?? ''}`;
}

function portMapKey(ports: readonly EndpointPort[] | undefined): string {
  const canon = (ports ?? []).map((p) => JSON.stringify([p.name ?? '', p.port ?? null, p.protocol ?? 'TCP', p.appProtocol ?? null])).sort();
  return `[${canon.join(',')}]`;
}

/** Upstream's EndpointsEqualBeyondHash: what the key does not cover, the pod reference's resourceVersion aside. */
function endpointsEqualBeyondKey(a: Endpoint, b: Endpoint): boolean {
  if ((a.nodeName ?? null) !== (b.nodeName ?? null) || (a.zone ?? null) !== (b.zone ?? null)) return false;
  const ca = a.conditions ?? {};
  const cb = b.conditions ?? {};
  if ((ca.ready ?? null) !== (cb.ready ?? null) || (ca.serving ?? null) !== (cb.serving ?? null) || (ca.terminating ?? null) !== (cb.terminating ?? null)) return false;
  const ra = a.targetRef;
  const rb = b.targetRef;
  if (!ra || !rb) return !ra && !rb;
  const fields = ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'fieldPath'] as const;
  return fields.every((f) => (ra[f] ?? '') === (rb[f] ?? ''));
}

function ownedBy(slice: KubeObject, svc: KubeObject): boolean {
  return (slice.metadata?.ownerReferences ?? []).some((o) => o.uid === svc.metadata?.uid && o.kind === 'Service' && o.apiVersion === 'v1');
}

function addressTypesFor(svc: KubeObject): Set<IPFamily> {
  const out = new Set<IPFamily>();
  for (const f of (svc.spec?.ipFamilies ?? []) as string[]) if (f === 'IPv4' || f === 'IPv6') out.add(f);
  if (out.size > 0) return out;
  // Without ipFamilies (a Service written before they were defaulted), the cluster IP says; else IPv4.
  out.add(isServiceIPSet(svc) && ipFamilyOf(String(svc.spec.clusterIP)) === 'IPv6' ? 'IPv6' : 'IPv4');
  return out;
}

function isReservedLabel(k: string): boolean {
  return k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS;
}

/** The slice's labels: the Service's (reserved keys aside), the headless mark, and ours. `changed` as upstream compares. */
function sliceLabels(slice: KubeObject | undefined, svc: KubeObject): { labels: Record<string, string>; changed: boolean } {
  const mine: Record<string, string> = {};
  for (const [k, v] of Object.entries(slice?.metadata?.labels ?? {})) if (!isReservedLabel(k)) mine[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) if (!isReservedLabel(k)) labels[k] = v;
  const keys = Object.keys(labels);
  let changed = keys.length !== Object.keys(mine).length || keys.some((k) => mine[k] !== labels[k]);
  if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata!.name!;
  labels[LABEL_MANAGED_BY] = ENDPOINTSLICE_CONTROLLER_NAME;
  // Ours and the headless mark are reserved, but a slice missing them must still be fixed.
  const have = slice?.metadata?.labels ?? {};
  for (const k of [LABEL_HEADLESS, LABEL_SERVICE_NAME, LABEL_MANAGED_BY]) if (have[k] !== labels[k]) changed = true;
  return { labels, changed };
}

function newSlice(svc: KubeObject, addressType: IPFamily, ports: EndpointPort[]): Slice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata!.name}-`,
      namespace: svc.metadata!.namespace,
      labels: sliceLabels(undefined, svc).labels,
      ownerReferences: [newControllerRef(svc, 'v1', 'Service')],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

function copySlice(s: KubeObject): Slice {
  return structuredClone(s) as Slice;
}

function isPlaceholder(slice: Slice, svc: KubeObject, addressType: IPFamily): boolean {
  if ((slice.endpoints?.length ?? 0) > 0 || (slice.ports?.length ?? 0) > 0 || slice.addressType !== addressType) return false;
  if (!ownedBy(slice, svc)) return false;
  const want = sliceLabels(undefined, svc).labels;
  const have = slice.metadata?.labels ?? {};
  return Object.keys(want).length === Object.keys(have).length && Object.entries(want).every(([k, v]) => have[k] === v);
}

function setTriggerTime(slice: Slice, triggerMs: number): void {
  const annotations = { ...slice.metadata!.annotations };
  if (triggerMs > 0) annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(triggerMs);
  else delete annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME];
  if (Object.keys(annotations).length > 0) slice.metadata!.annotations = annotations;
  else delete slice.metadata!.annotations;
}

/** Go's utilerrors.NewAggregate(...).Error(). */
function aggregate(messages: string[]): string {
  return messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
}

const DELETED = Symbol('deleted');

/**
 * What we last wrote per Service, after upstream's EndpointSliceTracker (resourceVersions stand in
 * for generations): the informer is stale while it lacks a slice we wrote, shows an older one, or
 * still shows one we deleted; and events for our own writes need no sync.
 */
class SliceTracker {
  private readonly byService = new Map<string, Map<string, string | typeof DELETED>>();

  private of(svcKey: string): Map<string, string | typeof DELETED> {
    let m = this.byService.get(svcKey);
    if (!m) this.byService.set(svcKey, (m = new Map()));
    return m;
  }

  wrote(svcKey: string, slice: KubeObject): void {
    if (slice.metadata?.name && slice.metadata.resourceVersion) this.of(svcKey).set(slice.metadata.name, slice.metadata.resourceVersion);
  }

  deleted(svcKey: string, name: string): void {
    this.of(svcKey).set(name, DELETED);
  }

  /** Whether an add/update event is one of our own writes (or older than one). */
  expectedUpdate(svcKey: string, slice: KubeObject): boolean {
    const t = this.byService.get(svcKey)?.get(slice.metadata?.name ?? '');
    return typeof t === 'string' && rvAtLeast(t, slice.metadata?.resourceVersion ?? '0');
  }

  /** Forgets a deleted slice; true when we deleted it ourselves. */
  observeDeletion(svcKey: string, name: string): boolean {
    const m = this.byService.get(svcKey);
    const t = m?.get(name);
    m?.delete(name);
    return t === DELETED;
  }

  stale(svcKey: string, slices: readonly KubeObject[]): boolean {
    const m = this.byService.get(svcKey);
    if (!m) return false;
    const seen = new Map(slices.map((s) => [s.metadata?.name ?? '', s.metadata?.resourceVersion]));
    for (const [name, t] of m) {
      if (t === DELETED) {
        if (seen.has(name)) return true;
      } else if (!rvAtLeast(seen.get(name), t)) {
        return true;
      }
    }
    return false;
  }

  forget(svcKey: string): void {
    this.byService.delete(svcKey);
  }
}

export class EndpointSliceController extends InformerController {
  private readonly services: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly slices: Informer;
  private readonly recorder: EventRecorder;
  private readonly maxEndpointsPerSlice: number;
  private readonly tracker = new SliceTracker();
  private readonly triggerTimes = new TriggerTimeTracker();

  constructor(
    private readonly ctx: ControllerContext,
    opts: EndpointSliceControllerOptions = {},
  ) {
    // Upstream backs off from 1 s (a sync can rewrite many slices) and syncs 5 Services at once.
    super('endpointslice controller', { workers: 5, retryBaseDelayMs: 1000, log: ctx.log, ...opts });
    this.maxEndpointsPerSlice = Math.max(1, opts.maxEndpointsPerSlice ?? 100);
    this.recorder = ctx.recorder('endpoint-slice-controller');
    this.services = ctx.informers.informer(SERVICES);
    this.pods = ctx.informers.informer(PODS);
    this.nodes = ctx.informers.informer(NODES);
    this.slices = ctx.informers.informer(ENDPOINT_SLICES);
    ensureIndexer(this.services, NAMESPACE_INDEX, byNamespace);
    ensureIndexer(this.pods, NAMESPACE_INDEX, byNamespace);
    ensureIndexer(this.pods, NODE_NAME_INDEX, byNodeName);
    ensureIndexer(this.slices, SERVICE_INDEX, (s) => {
      const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
      return svc && s.metadata?.labels?.[LABEL_MANAGED_BY] === ENDPOINTSLICE_CONTROLLER_NAME ? [`${s.metadata?.namespace ?? ''}/${svc}`] : [];
    });
    this.share(this.services, this.pods, this.nodes, this.slices);

    const enqueue = (svc: KubeObject) => this.queue.add(keyOf(svc));
    this.services.onAdd(enqueue).onUpdate((_o, svc) => enqueue(svc)).onDelete(enqueue);

    enqueueServicesOfPods(this.pods, this.services, (k) => this.queue.add(k));

    // Not upstream (which retries pods on unknown nodes with backoff and never looks at zone changes):
    // a node that appears or changes zone brings the endpoints of its pods up to date.
    const nodeChanged = (node: KubeObject) => {
      for (const pod of this.pods.byIndex(NODE_NAME_INDEX, node.metadata?.name ?? '')) {
        for (const k of servicesMatching(this.services, pod.metadata?.namespace ?? '', pod.metadata?.labels)) this.queue.add(k);
      }
    };
    this.nodes.onAdd(nodeChanged).onUpdate((old, node) => {
      if (old.metadata?.labels?.[ZONE_LABEL] !== node.metadata?.labels?.[ZONE_LABEL]) nodeChanged(node);
    });

    const serviceKeyOf = (s: KubeObject): string | undefined => {
      const l = s.metadata?.labels;
      return l?.[LABEL_MANAGED_BY] === ENDPOINTSLICE_CONTROLLER_NAME && l[LABEL_SERVICE_NAME] ? `${s.metadata?.namespace ?? ''}/${l[LABEL_SERVICE_NAME]}` : undefined;
    };
    // A slice someone else changed or deleted is put right; our own writes coming back need nothing.
    const onSlice = (s: KubeObject) => {
      const k = serviceKeyOf(s);
      if (k && !this.tracker.expectedUpdate(k, s)) this.queue.add(k);
    };
    this.slices
      .onAdd(onSlice)
      .onUpdate((old, s) => {
        onSlice(s);
        const before = serviceKeyOf(old);
        if (before && before !== serviceKeyOf(s)) this.queue.add(before);
      })
      .onDelete((s) => {
        const k = serviceKeyOf(s);
        if (k && !this.tracker.observeDeletion(k, s.metadata?.name ?? '')) this.queue.add(k);
      });
  }

  override async reconcile(key: string): Promise<void> {
    const svc = this.services.get(key);
    if (!svc) {
      this.tracker.forget(key);
      this.triggerTimes.delete(key);
      return;
    }
    if (svc.spec?.type === 'ExternalName' || !serviceSelector(svc)) return;

    const pods = podsForService(this.pods, svc);
    const slices = this.slices
      .byIndex(SERVICE_INDEX, key)
      .filter((s) => !s.metadata?.deletionTimestamp)
      .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
    if (this.tracker.stale(key, slices)) {
      // Retried quietly as a conflict: the informer has yet to catch up with our own writes.
      throw new ApiError(409, 'Conflict', 'EndpointSlice informer cache is out of date');
    }
    const triggerMs = this.triggerTimes.compute(svc, pods);

    const types = addressTypesFor(svc);
    const errs: string[] = [];
    const byType = new Map<string, Slice[]>();
    const wrongType: Slice[] = [];
    for (const s of slices as Slice[]) {
      if (!types.has(s.addressType as IPFamily)) wrongType.push(s);
      else if (byType.has(s.addressType)) byType.get(s.addressType)!.push(s);
      else byType.set(s.addressType, [s]);
    }
    let failure: unknown;
    try {
      for (const t of types) await this.reconcileByAddressType(svc, pods, byType.get(t) ?? [], triggerMs, t, errs);
      for (const s of wrongType) await this.deleteSlice(key, s);
    } catch (err) {
      failure = err;
      errs.push((err as Error).message);
    }
    if (errs.length > 0) {
      const message = aggregate(errs);
      this.recorder.event(svc, 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${key}: ${message}`);
      // A conflict keeps its type, so it is retried without being logged as a failure.
      throw failure instanceof ApiError && failure.code === 409 ? failure : new Error(message);
    }
  }

  private podPorts(svc: KubeObject, pod: KubeObject): EndpointPort[] {
    if (isHeadlessWithoutPorts(svc)) return [];
    const out: EndpointPort[] = [];
    for (const sp of (svc.spec?.ports ?? []) as ServicePort[]) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
      out.push(ep);
    }
    return out;
  }

  private podToEndpoint(pod: KubeObject, node: KubeObject | undefined, svc: KubeObject, addressType: IPFamily): Endpoint {
    const serving = isPodReady(pod);
    const terminating = Boolean(pod.metadata?.deletionTimestamp);
    // A terminating pod is never "ready", unless the Service publishes addresses regardless.
    const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
    const ep: Endpoint = {
      addresses: podIPs(pod).filter((ip) => ipFamilyOf(ip) === addressType),
      conditions: { ready, serving, terminating },
    };
    if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec.hostname;
    ep.targetRef = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
    if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
    const zone = node?.metadata?.labels?.[ZONE_LABEL];
    if (zone) ep.zone = zone;
    return ep;
  }

  private async reconcileByAddressType(svc: KubeObject, pods: KubeObject[], existing: Slice[], triggerMs: number, addressType: IPFamily, errs: string[]): Promise<void> {
    const key = keyOf(svc);
    const toCreate: Slice[] = [];
    const toUpdate: Slice[] = [];
    const toDelete: Slice[] = [];

    const existingByPorts = new Map<string, Slice[]>();
    for (const s of existing) {
      if (!ownedBy(s, svc)) {
        toDelete.push(s);
        continue;
      }
      const pk = portMapKey(s.ports);
      if (existingByPorts.has(pk)) existingByPorts.get(pk)!.push(s);
      else existingByPorts.set(pk, [s]);
    }

    const desiredPorts = new Map<string, EndpointPort[]>();
    const desired = new Map<string, EndpointSet>();
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ports = this.podPorts(svc, pod);
      const pk = portMapKey(ports);
      if (!desired.has(pk)) {
        desired.set(pk, new Map());
        desiredPorts.set(pk, ports);
      }
      const nodeName = pod.spec?.nodeName ?? '';
      const node = nodeName ? this.nodes.get(nodeName) : undefined;
      if (!node && svc.spec?.publishNotReadyAddresses !== true) {
        // Left out for now and retried: the pod GC removes pods of nodes that are really gone.
        errs.push(`skipping Pod ${pod.metadata?.name} for Service ${key}: Node ${nodeName} Not Found`);
        continue;
      }
      const ep = this.podToEndpoint(pod, node, svc, addressType);
      if (ep.addresses.length > 0) desired.get(pk)!.set(endpointKey(ep), ep);
    }

    for (const [pk, set] of desired) {
      const r = this.reconcileByPortMapping(svc, existingByPorts.get(pk) ?? [], set, addressType, desiredPorts.get(pk)!);
      toCreate.push(...r.toCreate);
      toUpdate.push(...r.toUpdate);
      toDelete.push(...r.toDelete);
    }
    for (const [pk, slices] of existingByPorts) if (!desired.has(pk)) toDelete.push(...slices);

    // A Service without endpoints still has one (empty) slice.
    if (existing.length === toDelete.length && toCreate.length === 0) {
      if (toDelete.length === 1 && isPlaceholder(toDelete[0], svc, addressType)) toDelete.length = 0;
      else toCreate.push(newSlice(svc, addressType, []));
    }

    await this.finalize(svc, toCreate, toUpdate, toDelete, triggerMs);
  }

  /** Upstream's reconcileByPortMapping: the slices of one set of ports, with as few writes as it can. */
  private reconcileByPortMapping(svc: KubeObject, existing: Slice[], desired: EndpointSet, addressType: IPFamily, ports: EndpointPort[]): { toCreate: Slice[]; toUpdate: Slice[]; toDelete: Slice[] } {
    const max = this.maxEndpointsPerSlice;
    const byName = new Map<string, Slice>();
    const unchanged = new Set<string>();
    const toUpdateNames = new Set<string>();
    const toDeleteNames = new Set<string>();

    // 1. Drop endpoints no longer wanted, rewrite changed ones, and fix labels.
    for (const s of existing) {
      const name = s.metadata!.name!;
      byName.set(name, s);
      const kept: Endpoint[] = [];
      let endpointChanged = false;
      for (const ep of s.endpoints ?? []) {
        const k = endpointKey(ep);
        const want = desired.get(k);
        if (!want) continue;
        kept.push(want);
        if (!endpointsEqualBeyondKey(want, ep)) endpointChanged = true;
        desired.delete(k);
      }
      const { labels, changed: labelsChanged } = sliceLabels(s, svc);
      if (endpointChanged || kept.length !== (s.endpoints?.length ?? 0)) {
        if (kept.length === 0) {
          toDeleteNames.add(name);
        } else {
          const c = copySlice(s);
          c.endpoints = kept;
          c.metadata!.labels = labels;
          byName.set(name, c);
          toUpdateNames.add(name);
        }
      } else if (labelsChanged) {
        const c = copySlice(s);
        c.metadata!.labels = labels;
        byName.set(name, c);
        toUpdateNames.add(name);
      } else {
        unchanged.add(name);
      }
    }

    const take = (slice: Slice) => {
      while (desired.size > 0 && slice.endpoints.length < max) {
        const [k, ep] = desired.entries().next().value as [string, Endpoint];
        desired.delete(k);
        slice.endpoints.push(ep);
      }
    };

    // 2. Fill the slices being written anyway, fullest first.
    if (desired.size > 0 && toUpdateNames.size > 0) {
      const updating = [...toUpdateNames].map((n) => byName.get(n)!).sort((a, b) => b.endpoints.length - a.endpoints.length);
      for (const s of updating) take(s);
    }

    // 3. Then the unchanged slice that ends up closest to full, then new slices.
    const toCreate: Slice[] = [];
    while (desired.size > 0) {
      let fill: Slice | undefined;
      if (desired.size < max && unchanged.size > 0) {
        let closest = max;
        for (const n of unchanged) {
          const diff = max - (desired.size + byName.get(n)!.endpoints.length);
          if (diff >= 0 && diff < closest) {
            closest = diff;
            fill = byName.get(n);
            if (diff === 0) break;
          }
        }
      }
      if (fill) {
        fill = copySlice(fill);
        byName.set(fill.metadata!.name!, fill);
        take(fill);
        toUpdateNames.add(fill.metadata!.name!);
        unchanged.delete(fill.metadata!.name!);
      } else {
        const s = newSlice(svc, addressType, ports);
        take(s);
        toCreate.push(s);
      }
    }

    return {
      toCreate,
      toUpdate: [...toUpdateNames].map((n) => byName.get(n)!),
      toDelete: [...toDeleteNames].map((n) => byName.get(n)!),
    };
  }

  private async finalize(svc: KubeObject, toCreate: Slice[], toUpdate: Slice[], toDelete: Slice[], triggerMs: number): Promise<void> {
    const key = keyOf(svc);
    const ns = svc.metadata!.namespace!;
    // A create and a delete together become an update of the slice that would go.
    for (let i = 0; i < toDelete.length && toCreate.length > 0; ) {
      const doomed = toDelete[i];
      const fresh = toCreate[toCreate.length - 1];
      if (doomed.addressType === fresh.addressType && ownedBy(doomed, svc)) {
        fresh.metadata = { ...fresh.metadata, name: doomed.metadata!.name, resourceVersion: doomed.metadata!.resourceVersion, uid: doomed.metadata!.uid };
        toCreate.pop();
        toUpdate.push(fresh);
        toDelete.splice(i, 1);
      } else {
        i++;
      }
    }

    // A Service being deleted gets no new slices: the garbage collector is removing them.
    if (!svc.metadata?.deletionTimestamp) {
      for (const s of toCreate) {
        setTriggerTime(s, triggerMs);
        try {
          this.tracker.wrote(key, await this.ctx.client.create(ENDPOINT_SLICES, ns, s));
        } catch (err) {
          if (err instanceof ApiError && err.code === 403 && /being terminated/.test(err.message)) return;
          throw new Error(`failed to create EndpointSlice for Service ${key}: ${(err as Error).message}`);
        }
      }
    }
    for (const s of toUpdate) {
      setTriggerTime(s, triggerMs);
      try {
        this.tracker.wrote(key, await this.ctx.client.update(ENDPOINT_SLICES, ns, s));
      } catch (err) {
        if (err instanceof ApiError && err.code === 409) {
          throw new ApiError(409, err.reason, `failed to update ${s.metadata?.name} EndpointSlice for Service ${key}: ${err.message}`);
        }
        throw new Error(`failed to update ${s.metadata?.name} EndpointSlice for Service ${key}: ${(err as Error).message}`);
      }
    }
    for (const s of toDelete) await this.deleteSlice(key, s);
  }

  private async deleteSlice(svcKey: string, s: KubeObject): Promise<void> {
    try {
      await this.ctx.client.delete(ENDPOINT_SLICES, s.metadata!.namespace!, s.metadata!.name!);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      throw new Error(`failed to delete ${s.metadata?.name} EndpointSlice for Service ${svcKey}: ${(err as Error).message}`);
    }
    this.tracker.deleted(svcKey, s.metadata!.name!);
  }
}

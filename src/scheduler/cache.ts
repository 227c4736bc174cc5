/**
 * The scheduler's cache, after upstream's internal/cache: a NodeInfo per node, kept up to date
 * incrementally from the node and pod informers, plus the pods the scheduler has *assumed* — placed
 * on a node the moment it decides, before the binding is written — so the next pod already sees
 * the node's resources taken. The pod informer then confirms an assumed pod (it shows up bound), or
 * a failed binding forgets it; one whose binding succeeded but which never shows up expires.
 *
 * Nodes are visited in upstream's node-tree order: round-robin over zones, so a search that stops
 * early (percentageOfNodesToScore) still looks at every zone.
 */
import type { KubeObject } from '../api/types.js';
import { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';

interface PodState {
  info: PodInfo;
  node: string;
  assumed: boolean;
  /** When the binding of an assumed pod succeeded (ms); undefined while in flight. */
  boundAt: number | undefined;
}

export interface SchedulerCacheOptions {
  /** How long an assumed pod whose binding succeeded waits for the informer (default 60 s). */
  assumedTTLms?: number;
  now?: () => number;
}

const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';
const ZONE_BETA = 'failure-domain.beta.kubernetes.io/zone';
const REGION_BETA = 'failure-domain.beta.kubernetes.io/region';

/** Upstream's utilnode.GetZoneKey: region and zone, or '' when the node has neither. */
export function zoneKey(node: KubeObject): string {
  const l = node.metadata?.labels ?? {};
  const region = l[REGION] ?? l[REGION_BETA] ?? '';
  const zone = l[ZONE] ?? l[ZONE_BETA] ?? '';
  return region === '' && zone === '' ? '' : `${region}:\u0000:${zone}`;
}

export class SchedulerCache {
  private readonly infos = new Map<string, NodeInfo>();
  private readonly zones = new Map<string, string[]>();
  private readonly nodeZone = new Map<string, string>();
  private list: NodeInfo[] | null = [];
  private readonly pods = new Map<string, PodState>();
  private readonly withAffinity = new Set<NodeInfo>();
  private readonly withRequiredAntiAffinity = new Set<NodeInfo>();
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(opts: SchedulerCacheOptions = {}) {
    this.ttl = opts.assumedTTLms ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  // ---- nodes ----

  /** Nodes with a Node object, in node-tree order. */
  nodes(): readonly NodeInfo[] {
    if (!this.list) this.list = this.buildList();
    return this.list;
  }

  nodeInfo(name: string): NodeInfo | undefined {
    const n = this.infos.get(name);
    return n?.node ? n : undefined;
  }

  nodesWithAffinity(): Iterable<NodeInfo> {
    return this.withAffinity;
  }

  nodesWithRequiredAntiAffinity(): Iterable<NodeInfo> {
    return this.withRequiredAntiAffinity;
  }

  /** Adds or updates a node. */
  setNode(node: KubeObject): NodeInfo {
    const name = node.metadata?.name ?? '';
    let info = this.infos.get(name);
    if (!info) this.infos.set(name, (info = new NodeInfo(name)));
    const hadNode = info.node !== undefined;
    info.setNode(node);
    const zone = zoneKey(node);
    const oldZone = this.nodeZone.get(name);
    if (!hadNode || oldZone !== zone) {
      if (oldZone !== undefined) this.removeFromZone(name, oldZone);
      this.nodeZone.set(name, zone);
      let names = this.zones.get(zone);
      if (!names) this.zones.set(zone, (names = []));
      names.push(name);
      this.list = null;
    }
    return info;
  }

  removeNode(name: string): void {
    const info = this.infos.get(name);
    if (!info) return;
    const zone = this.nodeZone.get(name);
    if (zone !== undefined) this.removeFromZone(name, zone);
    this.nodeZone.delete(name);
    this.list = null;
    // Pods on a deleted node still exist until their own deletes arrive; keep them counted.
    if (info.pods.length === 0) this.dropInfo(info);
    else info.clearNode();
  }

  private removeFromZone(name: string, zone: string): void {
    const names = this.zones.get(zone);
    if (!names) return;
    const i = names.indexOf(name);
    if (i >= 0) names.splice(i, 1);
    if (names.length === 0) this.zones.delete(zone);
  }

  private buildList(): NodeInfo[] {
    const zones = [...this.zones.values()];
    const out: NodeInfo[] = [];
    for (let i = 0; ; i++) {
      let any = false;
      for (const names of zones) {
        if (i >= names.length) continue;
        any = true;
        const info = this.infos.get(names[i]);
        if (info?.node) out.push(info);
      }
      if (!any) break;
    }
    return out;
  }

  private dropInfo(info: NodeInfo): void {
    this.infos.delete(info.name);
    this.withAffinity.delete(info);
    this.withRequiredAntiAffinity.delete(info);
  }

  // ---- pods ----

  /** The node a pod is placed on (bound or assumed), if the cache holds it. */
  podNode(key: string): string | undefined {
    return this.pods.get(key)?.node;
  }

  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed === true;
  }

  podCount(): number {
    return this.pods.size;
  }

  /** Places a pod the scheduler chose a node for, before its binding is written. */
  assumePod(info: PodInfo, node: string): void {
    const prior = this.pods.get(info.key);
    if (prior) this.unplace(prior);
    const st: PodState = { info, node, assumed: true, boundAt: undefined };
    this.pods.set(info.key, st);
    this.place(st);
  }

  /** The binding of an assumed pod was written: start waiting for the informer to confirm it. */
  finishBinding(key: string): void {
    const st = this.pods.get(key);
    if (st?.assumed) st.boundAt = this.now();
  }

  /** The binding failed: the pod takes nothing from the node any more. */
  forgetPod(key: string): void {
    const st = this.pods.get(key);
    if (!st?.assumed) return;
    this.unplace(st);
    this.pods.delete(key);
  }

  /** A bound pod from the informer (added or updated): confirms an assumed pod, or moves it. */
  addPod(info: PodInfo): void {
    const st = this.pods.get(info.key);
    if (st && st.info.uid !== info.uid) {
      // Another pod of the same name: the old one is gone.
      this.unplace(st);
      this.pods.delete(info.key);
    } else if (st) {
      this.unplace(st);
      st.info = info;
      st.node = info.nodeName;
      st.assumed = false;
      this.place(st);
      return;
    }
    const fresh: PodState = { info, node: info.nodeName, assumed: false, boundAt: undefined };
    this.pods.set(info.key, fresh);
    this.place(fresh);
  }

  removePod(key: string): PodInfo | undefined {
    const st = this.pods.get(key);
    if (!st) return undefined;
    this.unplace(st);
    this.pods.delete(key);
    return st.info;
  }

  /** Drops assumed pods whose binding succeeded long ago but which the informer never showed. */
  cleanupAssumed(): number {
    const now = this.now();
    let n = 0;
    for (const [key, st] of this.pods) {
      if (st.assumed && st.boundAt !== undefined && now - st.boundAt > this.ttl) {
        this.unplace(st);
        this.pods.delete(key);
        n++;
      }
    }
    return n;
  }

  private place(st: PodState): void {
    let info = this.infos.get(st.node);
    if (!info) this.infos.set(st.node, (info = new NodeInfo(st.node)));
    info.addPod(st.info);
    this.track(info);
  }

  private unplace(st: PodState): void {
    const info = this.infos.get(st.node);
    if (!info) return;
    info.removePod(st.info.key);
    this.track(info);
    if (!info.node && info.pods.length === 0) this.dropInfo(info);
  }

  private track(info: NodeInfo): void {
    if (info.podsWithAffinity > 0) this.withAffinity.add(info);
    else this.withAffinity.delete(info);
    if (info.podsWithRequiredAntiAffinity > 0) this.withRequiredAntiAffinity.add(info);
    else this.withRequiredAntiAffinity.delete(info);
  }
}

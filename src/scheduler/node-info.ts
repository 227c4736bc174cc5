/**
 * A node as the scheduler sees it (upstream's framework.NodeInfo): the Node's labels, taints and
 * allocatable resources read once per Node object, and running sums over the pods placed on it
 * (bound, and assumed while their binding is in flight), so a Filter or Score is a few comparisons.
 */
import type { KubeObject } from '../api/types.js';
import type { HostPort, Labels, PodInfo } from './pod-info.js';
import { NO_LABELS } from './pod-info.js';
import { isScalarResourceName, milliValue, wholeValue } from './resources.js';
import { toTaints, type NormalTaint as Taint } from '../api/taints.js';

export class NodeInfo {
  node: KubeObject | undefined;
  labels: Labels = NO_LABELS;
  taints: Taint[] = [];
  /** Taints with effect NoSchedule or NoExecute: the ones that filter. */
  filterTaints: Taint[] = [];
  hasPreferNoSchedule = false;
  unschedulable = false;

  allocMilliCPU = 0;
  allocMemory = 0;
  allocEphemeral = 0;
  allocPods = 0;
  allocScalar: Map<string, number> | null = null;

  reqMilliCPU = 0;
  reqMemory = 0;
  reqEphemeral = 0;
  reqScalar: Map<string, number> | null = null;
  nonZeroMilliCPU = 0;
  nonZeroMemory = 0;

  readonly pods: PodInfo[] = [];
  private readonly podIndex = new Map<string, number>();
  /** Pods with pod affinity or anti-affinity of any kind. */
  podsWithAffinity = 0;
  podsWithRequiredAntiAffinity = 0;
  /** ip → "protocol/port" → count. */
  usedPorts: Map<string, Map<string, number>> | null = null;
  /** Bumped on every change, for callers that cache per-node results. */
  generation = 0;

  constructor(readonly name: string) {}

  setNode(node: KubeObject): void {
    this.node = node;
    this.labels = node.metadata?.labels ?? NO_LABELS;
    this.taints = toTaints(node.spec?.taints);
    this.filterTaints = this.taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    this.hasPreferNoSchedule = this.taints.some((t) => t.effect === 'PreferNoSchedule');
    this.unschedulable = node.spec?.unschedulable === true;
    const alloc = (node.status?.allocatable ?? {}) as Record<string, unknown>;
    this.allocMilliCPU = milliValue(alloc.cpu);
    this.allocMemory = wholeValue(alloc.memory);
    this.allocEphemeral = wholeValue(alloc['ephemeral-storage']);
    this.allocPods = wholeValue(alloc.pods);
    let scalar: Map<string, number> | null = null;
    for (const name in alloc) if (isScalarResourceName(name)) (scalar ??= new Map()).set(name, wholeValue(alloc[name]));
    this.allocScalar = scalar;
    this.generation++;
  }

  clearNode(): void {
    this.node = undefined;
    this.generation++;
  }

  hasPod(key: string): boolean {
    return this.podIndex.has(key);
  }

  getPod(key: string): PodInfo | undefined {
    const i = this.podIndex.get(key);
    return i === undefined ? undefined : this.pods[i];
  }

  addPod(p: PodInfo): void {
    if (this.podIndex.has(p.key)) this.removePod(p.key);
    this.podIndex.set(p.key, this.pods.length);
    this.pods.push(p);
    this.account(p, 1);
  }

  /** Removes the pod with `key`; returns what was removed. */
  removePod(key: string): PodInfo | undefined {
    const i = this.podIndex.get(key);
    if (i === undefined) return undefined;
    const p = this.pods[i];
    const last = this.pods.pop()!;
    if (last !== p) {
      this.pods[i] = last;
      this.podIndex.set(last.key, i);
    }
    this.podIndex.delete(key);
    this.account(p, -1);
    return p;
  }

  /** An independent copy for simulations (preemption, nominated pods). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    c.node = this.node;
    c.labels = this.labels;
    c.taints = this.taints;
    c.filterTaints = this.filterTaints;
    c.hasPreferNoSchedule = this.hasPreferNoSchedule;
    c.unschedulable = this.unschedulable;
    c.allocMilliCPU = this.allocMilliCPU;
    c.allocMemory = this.allocMemory;
    c.allocEphemeral = this.allocEphemeral;
    c.allocPods = this.allocPods;
    c.allocScalar = this.allocScalar;
    for (const p of this.pods) c.addPod(p);
    c.generation = this.generation;
    return c;
  }

  private account(p: PodInfo, sign: 1 | -1): void {
    const r = p.requests;
    this.reqMilliCPU += sign * r.milliCPU;
    this.reqMemory += sign * r.memory;
    this.reqEphemeral += sign * r.ephemeralStorage;
    if (r.scalar) {
      const m = (this.reqScalar ??= new Map());
      for (const [name, v] of r.scalar) m.set(name, (m.get(name) ?? 0) + sign * v);
    }
    this.nonZeroMilliCPU += sign * p.nonZeroCPU;
    this.nonZeroMemory += sign * p.nonZeroMemory;
    if (p.hasAffinity) this.podsWithAffinity += sign;
    if (p.requiredAntiAffinityTerms) this.podsWithRequiredAntiAffinity += sign;
    if (p.hostPorts) this.accountPorts(p.hostPorts, sign);
    this.generation++;
  }

  private accountPorts(ports: readonly HostPort[], sign: 1 | -1): void {
    const used = (this.usedPorts ??= new Map());
    for (const hp of ports) {
      let m = used.get(hp.ip);
      if (!m) used.set(hp.ip, (m = new Map()));
      const k = `${hp.protocol}/${hp.port}`;
      const n = (m.get(k) ?? 0) + sign;
      if (n <= 0) m.delete(k);
      else m.set(k, n);
      if (m.size === 0) used.delete(hp.ip);
    }
  }

  /** Upstream's HostPortInfo.CheckConflict. */
  portConflicts(hp: HostPort): boolean {
    const used = this.usedPorts;
    if (!used) return false;
    const k = `${hp.protocol}/${hp.port}`;
    if (hp.ip === '0.0.0.0') {
      for (const m of used.values()) if (m.has(k)) return true;
      return false;
    }
    return Boolean(used.get('0.0.0.0')?.has(k) || used.get(hp.ip)?.has(k));
  }
}

/**
 * A kubelet's duties toward the API for its Node, after upstream's kubelet_node_status.go and its
 * node lease controller; the simulated nodes and the real agent's node share them and differ only
 * in what the node looks like (labels, spec, status: the subclass says):
 *
 * - registration: create the Node (labels, capacity, conditions, addresses, nodeInfo), or take over
 *   the one that exists, fixing labels and status only where they differ;
 * - the Lease in kube-node-lease, named after the node, held by it and owned by the Node, renewed
 *   every renew interval (jittered per node so thousands of nodes do not write in lockstep);
 * - the status heartbeat: every nodeStatusUpdateFrequency the status the node should have is compared
 *   with the stored one, and written when it differs or when nodeStatusReportFrequency has passed.
 *
 * `stopHeartbeats()` makes the kubelet "die": no renewals, no status; the Node stays as it was.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Client } from '../client/interface.js';
import { LEASES, microTime } from '../client/leader-election.js';
import { NODES, rfc3339 } from '../controllers/pods.js';
import { deepEqual } from '../api/json.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** The conditions the kubelet owns, in upstream's order, with its reasons and messages when all is well. */
export const HEALTHY_CONDITIONS: NodeCondition[] = [
  { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
];
const KUBELET_CONDITION_TYPES = new Set(HEALTHY_CONDITIONS.map((c) => c.type));

export interface NodeTimings {
  leaseDurationSeconds: number;
  renewIntervalMs: number;
  nodeStatusUpdateFrequencyMs: number;
  nodeStatusReportFrequencyMs: number;
  now: () => number;
  log: (msg: string) => void;
}

export abstract class NodeRegistration {
  uid = '';
  private alive = false;
  private deleted = false;
  private stopped = false;
  /** The latest Node seen (registration, our writes, the agent's node informer). */
  protected node: KubeObject | undefined;
  private lease: KubeObject | undefined;
  private lastReport = 0;
  private leaseTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private statusWriting = false;

  constructor(
    readonly name: string,
    /** Writes go through this client (the simulated agent's is bounded and shared by all its nodes). */
    protected readonly client: Client,
    protected readonly cfg: NodeTimings,
  ) {}

  /** The node's labels as the kubelet sets them at registration. */
  protected abstract labels(): Record<string, string>;
  /** The spec the node registers with (a simulated node brings its podCIDR; a real one waits for node IPAM). */
  protected abstract registrationSpec(): Record<string, unknown>;
  /** The status the node should report, conditions merged with `current`'s (see kubeletConditions). */
  protected abstract desiredStatus(current: KubeObject | undefined, heartbeat: number): Record<string, unknown>;

  /** The Node as last seen. */
  current(): KubeObject | undefined {
    return this.node;
  }

  isAlive(): boolean {
    return this.alive && !this.stopped && !this.deleted;
  }

  // ---- registration ----

  /** Creates the Node (or takes over the one there) and makes sure its Lease exists. */
  async register(): Promise<void> {
    const at = this.cfg.now();
    const desired = this.desiredNode(at);
    let node: KubeObject;
    try {
      node = await this.client.create(NODES, '', desired);
      this.lastReport = at;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err;
      node = await this.adoptExisting(desired);
    }
    this.observe(node);
    this.uid = node.metadata?.uid ?? '';
    await this.ensureLease();
  }

  /** The kubelet's tryRegisterWithAPIServer on an existing Node: reconcile labels, then status. */
  private async adoptExisting(desired: KubeObject): Promise<KubeObject> {
    let node = await this.client.get(NODES, '', this.name);
    const labels = node.metadata?.labels ?? {};
    const missing = Object.entries(desired.metadata!.labels!).filter(([k, v]) => labels[k] !== v);
    if (missing.length > 0) {
      node = await this.client.patch(NODES, '', this.name, 'application/merge-patch+json', { metadata: { labels: Object.fromEntries(missing) } });
    }
    this.node = node;
    if (this.statusDiffers(node)) node = await this.writeStatus(node);
    else this.lastReport = parseHeartbeat(node) ?? this.cfg.now();
    return node;
  }

  private async ensureLease(): Promise<void> {
    try {
      this.lease = await this.client.get(LEASES, NODE_LEASE_NAMESPACE, this.name);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
      await this.createLease();
    }
  }

  private async createLease(): Promise<void> {
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: NODE_LEASE_NAMESPACE, ownerReferences: this.ownerReferences() },
      spec: { holderIdentity: this.name, leaseDurationSeconds: this.cfg.leaseDurationSeconds, renewTime: microTime(new Date(this.cfg.now())) },
    };
    if (!this.uid) delete lease.metadata!.ownerReferences;
    try {
      this.lease = await this.client.create(LEASES, NODE_LEASE_NAMESPACE, lease);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err;
      this.lease = await this.client.get(LEASES, NODE_LEASE_NAMESPACE, this.name);
    }
  }

  private ownerReferences() {
    // As upstream's setNodeOwnerFunc: a plain owner reference, so the lease goes when the node does.
    return [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: this.uid }];
  }

  // ---- heartbeats ----

  startHeartbeats(): void {
    if (this.alive || this.stopped || this.deleted) return;
    this.alive = true;
    // The first renewal is due an interval after the last one; spreading the nodes over the second half
    // of that wait keeps 5,000 nodes registered together from renewing in one burst. A lease found
    // stale (a previous agent died) is renewed at once, give or take a second.
    const renewedAt = Date.parse(String(this.lease?.spec?.renewTime ?? ''));
    const due = Number.isFinite(renewedAt) ? renewedAt + this.cfg.renewIntervalMs - this.cfg.now() : 0;
    this.scheduleRenew(due > 0 ? due * (0.5 + Math.random() * 0.5) : Math.random() * Math.min(this.cfg.renewIntervalMs, 1000));
    this.scheduleStatus(Math.random() * this.cfg.nodeStatusUpdateFrequencyMs);
  }

  stopHeartbeats(): void {
    this.alive = false;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.leaseTimer = this.statusTimer = undefined;
  }

  /** The kubelet comes back: renew and report at once. */
  resumeHeartbeats(): void {
    if (this.alive || this.stopped || this.deleted) return;
    this.alive = true;
    this.scheduleRenew(0);
    this.scheduleStatus(0);
  }

  /** Something the status shows changed (a podCIDR arrived): report now rather than at the next tick. */
  reportNow(): void {
    if (!this.isAlive()) return;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.scheduleStatus(0);
  }

  stop(): void {
    this.stopHeartbeats();
    this.stopped = true;
  }

  /** A newer copy of the Node (from the informer or a write). */
  observe(node: KubeObject): void {
    if (this.node && Number(node.metadata?.resourceVersion) < Number(this.node.metadata?.resourceVersion)) return;
    this.node = node;
  }

  /** The Node was deleted: this kubelet has nothing left to report to (upstream's does not re-register). */
  nodeDeleted(): void {
    this.deleted = true;
    this.stopHeartbeats();
    this.cfg.log(`node ${this.name} was deleted; its kubelet stops reporting`);
  }

  private scheduleRenew(ms: number): void {
    if (!this.isAlive()) return;
    this.leaseTimer = setTimeout(() => void this.renew(), ms);
    this.leaseTimer.unref();
  }

  private scheduleStatus(ms: number): void {
    if (!this.isAlive()) return;
    this.statusTimer = setTimeout(() => void this.statusTick(), ms);
    this.statusTimer.unref();
  }

  /** ±4% jitter on each period keeps nodes from drifting back into step. */
  private jittered(ms: number): number {
    return ms * (0.96 + Math.random() * 0.08);
  }

  private async renew(): Promise<void> {
    if (!this.isAlive() || this.renewing) return;
    this.renewing = true;
    try {
      await this.renewOnce();
    } catch (err) {
      if (this.isAlive()) this.cfg.log(`node ${this.name}: lease renewal failed: ${(err as Error).message}`);
    } finally {
      this.renewing = false;
      this.scheduleRenew(this.jittered(this.cfg.renewIntervalMs));
    }
  }

  /** The lease controller's update with the lease last read; on a conflict or a missing lease, read again. */
  private async renewOnce(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!this.lease) {
        await this.ensureLease();
        if (!this.lease) return;
        if (attempt === 0 && this.justCreated()) return;
      }
      const base = this.lease;
      const next: KubeObject = {
        ...base,
        metadata: { ...base.metadata },
        spec: { ...base.spec, holderIdentity: this.name, leaseDurationSeconds: this.cfg.leaseDurationSeconds, renewTime: microTime(new Date(this.cfg.now())) },
      };
      if (!(next.metadata!.ownerReferences?.length ?? 0) && this.uid) next.metadata!.ownerReferences = this.ownerReferences();
      try {
        this.lease = await this.client.update(LEASES, NODE_LEASE_NAMESPACE, next);
        return;
      } catch (err) {
        if (err instanceof ApiError && err.code === 409) {
          this.lease = await this.client.get(LEASES, NODE_LEASE_NAMESPACE, this.name).catch(() => undefined);
          continue;
        }
        if (err instanceof ApiError && err.code === 404) {
          this.lease = undefined;
          continue;
        }
        throw err;
      }
    }
  }

  private justCreated(): boolean {
    const t = Date.parse(String(this.lease?.spec?.renewTime ?? ''));
    return Number.isFinite(t) && this.cfg.now() - t < 1000;
  }

  private async statusTick(): Promise<void> {
    if (!this.isAlive() || this.statusWriting) return;
    this.statusWriting = true;
    try {
      const node = this.node;
      if (node && (this.statusDiffers(node) || this.cfg.now() - this.lastReport >= this.cfg.nodeStatusReportFrequencyMs)) {
        await this.writeStatus(node);
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) this.nodeDeleted();
      else if (this.isAlive()) this.cfg.log(`node ${this.name}: status update failed: ${(err as Error).message}`);
    } finally {
      this.statusWriting = false;
      this.scheduleStatus(this.jittered(this.cfg.nodeStatusUpdateFrequencyMs));
    }
  }

  /** Writes the status the node should have, with fresh heartbeats, over `current`. */
  private async writeStatus(current: KubeObject): Promise<KubeObject> {
    const at = this.cfg.now();
    const status = this.desiredStatus(current, at);
    const node = await this.client.patch(NODES, '', this.name, 'application/merge-patch+json', { status }, { subresource: 'status' });
    this.lastReport = at;
    this.observe(node);
    return node;
  }

  /** Whether anything but heartbeat times differs from what the node should report. */
  private statusDiffers(current: KubeObject): boolean {
    const want = this.desiredStatus(current, 0);
    const have = current.status ?? {};
    for (const key of Object.keys(want)) {
      if (key === 'conditions') {
        if (!deepEqual(stripHeartbeats(want.conditions as unknown[]), stripHeartbeats(have.conditions))) return true;
      } else if (!deepEqual(want[key], have[key])) return true;
    }
    return false;
  }

  // ---- what the node looks like ----

  desiredNode(now: number): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.name,
        labels: this.labels(),
        annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: this.registrationSpec(),
      status: this.desiredStatus(undefined, now),
    };
  }
}

/**
 * The kubelet's own conditions in upstream's order, each keeping its lastTransitionTime while its
 * status holds, with `heartbeat` as lastHeartbeatTime; conditions the kubelet does not own stay as found.
 */
export function kubeletConditions(current: KubeObject | undefined, desired: NodeCondition[], heartbeat: number): Record<string, unknown>[] {
  const old = (Array.isArray(current?.status?.conditions) ? current!.status!.conditions : []) as Record<string, any>[];
  const hb = rfc3339(heartbeat);
  const conditions: Record<string, unknown>[] = old.filter((c) => c && !KUBELET_CONDITION_TYPES.has(c.type));
  for (const c of desired) {
    const prior = old.find((o) => o?.type === c.type);
    const since = prior?.status === c.status && typeof prior.lastTransitionTime === 'string' ? prior.lastTransitionTime : hb;
    conditions.push({ type: c.type, status: c.status, lastHeartbeatTime: hb, lastTransitionTime: since, reason: c.reason, message: c.message });
  }
  return conditions;
}

function stripHeartbeats(conditions: unknown): unknown[] {
  if (!Array.isArray(conditions)) return [];
  return conditions.map((c) => {
    if (!c || typeof c !== 'object') return c;
    const { lastHeartbeatTime: _h, ...rest } = c as Record<string, unknown>;
    return rest;
  });
}

function parseHeartbeat(node: KubeObject): number | undefined {
  const ready = (node.status?.conditions as Record<string, any>[] | undefined)?.find((c) => c?.type === 'Ready');
  const t = Date.parse(String(ready?.lastHeartbeatTime ?? ''));
  return Number.isFinite(t) ? t : undefined;
}


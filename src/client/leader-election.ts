/**
 * Leader election on coordination.k8s.io/v1 Leases, after client-go's tools/leaderelection with a
 * LeaseLock.
 *
 * A candidate reads the Lease; it creates it when missing, and takes it over when the holder has not
 * renewed within the lease duration. "Not renewed" is judged by the local monotonic clock from the
 * moment this candidate last saw the lease record change — never by comparing the holder's renewTime
 * with our own wall clock, which may differ between machines. The leader renews every retry period,
 * with the resourceVersion it read as precondition (a 409 means someone else wrote it: read again),
 * and gives up leading once renewal has failed for the renew deadline, which is shorter than the
 * lease duration, so it stops before anyone else may take over.
 */
import { performance } from 'node:perf_hooks';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Client, ResourceRef } from './interface.js';

export const LEASES: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };

/** client-go's JitterFactor: the retry period may stretch by up to this factor. */
const JITTER_FACTOR = 1.2;

export interface LeaderElectorOptions {
  client: Client;
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** This candidate's identity, unique among candidates (e.g. hostname + random suffix). */
  identity: string;
  /** How long non-leaders wait after the last observed change before taking over. Default 15. */
  leaseDurationSeconds?: number;
  /** How long the leader keeps retrying a failing renewal before it stops leading. Default 10. */
  renewDeadlineSeconds?: number;
  /** How often candidates try to acquire, and the leader renews. Default 2. */
  retryPeriodSeconds?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

/** The part of a Lease's spec election reads and writes (client-go's LeaderElectionRecord). */
interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** metav1.MicroTime's wire form: RFC 3339 with exactly six fractional digits, in UTC. */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function recordOf(lease: KubeObject): LeaseRecord {
  const spec = (lease.spec ?? {}) as LeaseRecord;
  return {
    holderIdentity: spec.holderIdentity,
    leaseDurationSeconds: spec.leaseDurationSeconds,
    acquireTime: spec.acquireTime,
    renewTime: spec.renewTime,
    leaseTransitions: spec.leaseTransitions,
  };
}

function rawRecord(r: LeaseRecord): string {
  return JSON.stringify([r.holderIdentity ?? '', r.leaseDurationSeconds ?? 0, r.acquireTime ?? '', r.renewTime ?? '', r.leaseTransitions ?? 0]);
}

export class LeaderElector {
  private readonly client: Client;
  private readonly namespace: string;
  private readonly name: string;
  private readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly onStartedLeading: () => void;
  private readonly onStoppedLeading: () => void;

  /** The last lease record seen, its serialized form, and when (local monotonic ms) it last changed. */
  private observed: LeaseRecord | undefined;
  private observedRaw = '';
  private observedTime = 0;

  private leading = false;
  /** When (local monotonic ms) this leader last renewed successfully. */
  private lastRenew = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** The attempt in flight, awaited by stop() before it releases. */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(opts: LeaderElectorOptions) {
    this.client = opts.client;
    this.namespace = opts.namespace;
    this.name = opts.name;
    this.identity = opts.identity;
    this.leaseDurationMs = (opts.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = (opts.renewDeadlineSeconds ?? 10) * 1000;
    this.retryPeriodMs = (opts.retryPeriodSeconds ?? 2) * 1000;
    this.onStartedLeading = opts.onStartedLeading;
    this.onStoppedLeading = opts.onStoppedLeading;
    // The checks client-go's NewLeaderElector makes.
    if (!this.identity) throw new Error('leader election: identity must not be empty');
    if (!(this.retryPeriodMs > 0)) throw new Error('leader election: retryPeriod must be greater than zero');
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) throw new Error('leader election: leaseDuration must be greater than renewDeadline');
    if (!(this.renewDeadlineMs > JITTER_FACTOR * this.retryPeriodMs)) {
      throw new Error(`leader election: renewDeadline must be greater than retryPeriod*${JITTER_FACTOR}`);
    }
  }

  /** Starts competing for the lease, in the background. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /**
   * Stops competing. A leader stops leading (onStoppedLeading) and releases the lease by clearing its
   * holder, so another candidate can take over at once (client-go's ReleaseOnCancel).
   */
  async stop(): Promise<void> {
    this.halt();
    await this.inFlight;
    const wasLeading = this.leading;
    this.leading = false;
    // An attempt that won the lease as stop() began leaves it ours without our leading: release it too.
    if (!wasLeading && this.observed?.holderIdentity !== this.identity) return;
    try {
      await this.release();
    } finally {
      if (wasLeading) this.onStoppedLeading();
    }
  }

  /**
   * Test only: stops all work without releasing the lease or calling back, as if the process had
   * died. Other candidates take over once the lease expires.
   */
  async abandon(): Promise<void> {
    this.halt();
    await this.inFlight;
    this.leading = false;
  }

  /** Whether this candidate currently leads. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The identity of the holder last observed, if any. */
  getLeader(): string | undefined {
    return this.observed?.holderIdentity || undefined;
  }

  private halt(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.tick();
    }, ms);
    this.timer.unref();
  }

  /** One attempt: acquire when following, renew when leading; then schedules the next. */
  private async tick(): Promise<void> {
    const ok = await this.tryAcquireOrRenew();
    if (!this.running) return;
    const now = performance.now();
    if (this.leading) {
      if (ok) {
        this.lastRenew = now;
      } else if (now - this.lastRenew >= this.renewDeadlineMs || this.heldByOther()) {
        // Renewal failed for the whole renew deadline, or someone else holds the lease now.
        this.leading = false;
        this.onStoppedLeading();
      }
      this.schedule(this.retryPeriodMs);
      return;
    }
    if (ok) {
      this.leading = true;
      this.lastRenew = now;
      this.onStartedLeading();
      this.schedule(this.retryPeriodMs);
      return;
    }
    // Followers retry with jitter, as client-go's wait.JitterUntil.
    this.schedule(this.retryPeriodMs * (1 + Math.random() * (JITTER_FACTOR - 1)));
  }

  private heldByOther(): boolean {
    const holder = this.observed?.holderIdentity;
    return !!holder && holder !== this.identity;
  }

  /** Observes a record read or written; the lease clock restarts when the record changed. */
  private observe(lease: KubeObject): void {
    const record = recordOf(lease);
    const raw = rawRecord(record);
    if (raw !== this.observedRaw) {
      this.observed = record;
      this.observedRaw = raw;
      this.observedTime = performance.now();
    }
  }

  private leaseObject(record: LeaseRecord, resourceVersion?: string): KubeObject {
    const metadata: Record<string, unknown> = { name: this.name, namespace: this.namespace };
    if (resourceVersion) metadata.resourceVersion = resourceVersion;
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: record };
  }

  /** client-go's tryAcquireOrRenew: true when this candidate holds a freshly written lease. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = microTime();
    const mine: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };

    let current: KubeObject;
    try {
      current = await this.client.get(LEASES, this.namespace, this.name);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) return false;
      try {
        this.observe(await this.client.create(LEASES, this.namespace, this.leaseObject(mine)));
        return true;
      } catch {
        return false; // Someone else created it first (409), or the server is unreachable.
      }
    }

    this.observe(current);
    const old = this.observed ?? {};
    const durationMs = (old.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    const leaseValid = this.observedTime + durationMs > performance.now();
    if (old.holderIdentity && old.holderIdentity !== this.identity && leaseValid && !this.leading) return false;
    if (this.heldByOther() && this.leading) return false; // Taken over under us: step down.

    if (old.holderIdentity === this.identity) {
      mine.acquireTime = old.acquireTime ?? now;
      mine.leaseTransitions = old.leaseTransitions ?? 0;
    } else {
      mine.leaseTransitions = (old.leaseTransitions ?? 0) + 1;
    }

    try {
      const updated = await this.client.update(LEASES, this.namespace, { ...this.leaseObject(mine, current.metadata?.resourceVersion), metadata: { ...current.metadata } });
      this.observe(updated);
      return true;
    } catch {
      return false; // 409: someone else wrote it; read again next time.
    }
  }

  /** Clears the holder, if it is still us, so another candidate may take over at once. */
  private async release(): Promise<void> {
    try {
      const current = await this.client.get(LEASES, this.namespace, this.name);
      const old = recordOf(current);
      if (old.holderIdentity !== this.identity) return;
      const now = microTime();
      const record: LeaseRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: old.leaseTransitions ?? 0 };
      this.observe(await this.client.update(LEASES, this.namespace, { ...this.leaseObject(record), metadata: { ...current.metadata } }));
    } catch {
      // Best effort, as client-go: the lease then expires after its duration.
    }
  }
}

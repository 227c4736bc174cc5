/**
 * The event recorder components use to tell users what they did, after client-go's
 * record.EventRecorder with its EventCorrelator: core/v1 Events named `<object>.<hex time>`,
 * the same event repeated within ten minutes counted on one Event (`count`, `lastTimestamp`)
 * instead of written anew, and a per-object token bucket (burst 25, one more every five minutes)
 * so a hot loop cannot flood the store. Writes are asynchronous and never block or fail the
 * caller: an event that cannot be written is dropped, as upstream's broadcaster drops it.
 */
import type { KubeObject } from '../api/types.js';
import type { Client, ResourceRef } from './interface.js';

const EVENTS: ResourceRef = { group: '', version: 'v1', resource: 'events' };

export type EventType = 'Normal' | 'Warning';

export interface EventSource {
  /** Who reports, as upstream names it: `deployment-controller`, `default-scheduler`, `kubelet`. */
  component: string;
  /** The node, for agents. */
  host?: string;
}

export interface ObjectReference {
  kind?: string;
  apiVersion?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EventRecorderOptions {
  /** Writes in flight at once (default 8). */
  maxInFlight?: number;
  /** Events waiting beyond this many are dropped (default 10,000). */
  maxQueued?: number;
  now?: () => number;
}

const AGGREGATE_WINDOW_MS = 10 * 60 * 1000;
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 5 * 60 * 1000;
const CACHE_MAX = 4096;

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastMs: number;
  /** The Event exists in the store (its create finished). */
  written: Promise<boolean>;
}

export function referenceOf(obj: KubeObject, fieldPath?: string): ObjectReference {
  const m = obj.metadata ?? {};
  const ref: ObjectReference = { kind: obj.kind, namespace: m.namespace, name: m.name, uid: m.uid, apiVersion: obj.apiVersion, resourceVersion: m.resourceVersion };
  if (fieldPath) ref.fieldPath = fieldPath;
  return ref;
}

function seconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly pending: (() => Promise<void>)[] = [];
  private readonly idle: (() => void)[] = [];
  private inFlight = 0;
  private sequence = 0;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly now: () => number;

  constructor(
    private readonly client: Client,
    readonly source: EventSource,
    opts: EventRecorderOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 8;
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Records that `reason` happened to `obj` (an object or a reference to one). */
  event(obj: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    const ref: ObjectReference = 'metadata' in obj ? referenceOf(obj as KubeObject) : (obj as ObjectReference);
    const nowMs = this.now();
    if (!this.allow(ref, nowMs)) return;
    const key = [ref.uid ?? `${ref.namespace}/${ref.kind}/${ref.name}`, ref.fieldPath ?? '', type, reason, message].join('\u0000');
    const prior = this.seen.get(key);
    if (prior && nowMs - prior.lastMs < AGGREGATE_WINDOW_MS) {
      prior.count++;
      prior.lastMs = nowMs;
      const count = prior.count;
      this.enqueue(async () => {
        if (!(await prior.written)) return;
        await this.client.patch(EVENTS, prior.namespace, prior.name, 'application/merge-patch+json', { count, lastTimestamp: seconds(nowMs) });
      });
      return;
    }
    const namespace = ref.namespace || 'default';
    const name = `${ref.name ?? 'unknown'}.${(BigInt(nowMs) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`;
    let settle!: (ok: boolean) => void;
    const entry: Seen = { name, namespace, count: 1, firstTimestamp: seconds(nowMs), lastMs: nowMs, written: new Promise((r) => (settle = r)) };
    if (this.seen.size >= CACHE_MAX) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, entry);
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      source: this.source.host ? { component: this.source.component, host: this.source.host } : { component: this.source.component },
      firstTimestamp: entry.firstTimestamp,
      lastTimestamp: entry.firstTimestamp,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? '',
    };
    const queued = this.enqueue(async () => {
      try {
        await this.client.create(EVENTS, namespace, body);
        settle(true);
      } catch (err) {
        settle(false);
        throw err;
      }
    });
    if (!queued) settle(false);
  }

  /** Resolves once every event recorded so far has been written (or dropped). */
  flush(): Promise<void> {
    if (this.inFlight === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Upstream's spam filter: a token bucket per source and object. */
  private allow(ref: ObjectReference, nowMs: number): boolean {
    const key = `${ref.kind}/${ref.namespace}/${ref.name}/${ref.uid ?? ''}`;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= CACHE_MAX) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: SPAM_BURST, at: nowMs };
      this.buckets.set(key, b);
    }
    const refill = Math.floor((nowMs - b.at) / SPAM_REFILL_MS);
    if (refill > 0) {
      b.tokens = Math.min(SPAM_BURST, b.tokens + refill);
      b.at += refill * SPAM_REFILL_MS;
    }
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  private enqueue(write: () => Promise<void>): boolean {
    if (this.pending.length >= this.maxQueued) return false;
    this.pending.push(write);
    this.pump();
    return true;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.pending.length > 0) {
      const write = this.pending.shift()!;
      this.inFlight++;
      // A lost event is not worth a retry: namespaces go away, and the next one will say as much.
      write()
        .catch(() => undefined)
        .finally(() => {
          this.inFlight--;
          this.pump();
          if (this.inFlight === 0 && this.pending.length === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }
}

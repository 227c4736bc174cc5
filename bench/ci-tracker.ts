/**
 * What the CI burst benchmark sees of the cluster, from its own watch streams: for each unit of
 * work (a Job, or a bare pod in the large run) when its create was sent and acknowledged, when its
 * pod was first seen bound, Running, finished and deleted, and when the Job was seen Complete and
 * deleted. Times are `performance.now()` of this process at the moment the event's bytes arrived,
 * so they are finer than the objects' own (second-precision) timestamps.
 */
import { WatchStream, type Endpoint } from './http-client.js';

export interface Unit {
  namespace: string;
  name: string;
  sentAt: number;
  ackAt?: number;
  createStatus?: number;
  /** Pods seen for this unit (a Job's, or the bare pod itself). More than one means a replacement or a duplicate. */
  pods: number;
  /** Its (first) pod first seen: created by the Job controller, or by the bench itself. */
  podSeenAt?: number;
  boundAt?: number;
  /** First seen Running (or, if the Running status was never seen, finished: see `skippedRunning`). */
  runningAt?: number;
  completeAt?: number;
  failedAt?: number;
  goneAt?: number;
}

export interface PodSeen {
  unitKey: string;
  seenAt: number;
  node?: string;
  boundAt?: number;
  runningAt?: number;
  finishedAt?: number;
  phase?: string;
  goneAt?: number;
  /** The pod went from not Running straight to Succeeded/Failed in the events the watch delivered. */
  skippedRunning: boolean;
}

export class BurstTracker {
  readonly units = new Map<string, Unit>();
  readonly pods = new Map<string, PodSeen>();
  /** Arrival time of every first-bind event, in order. */
  readonly binds: number[] = [];
  /** Arrival time of every pod's first event (its creation, as far as the watch can tell). */
  readonly podsCreated: number[] = [];
  readonly running: number[] = [];
  readonly errors: string[] = [];
  unknownPods = 0;
  podEvents = 0;
  jobEvents = 0;
  podsGone = 0;
  unitsGone = 0;
  unitsComplete = 0;
  unitsFailed = 0;
  unitsRunning = 0;

  constructor(readonly mode: 'jobs' | 'pods') {}

  unit(namespace: string, name: string): Unit {
    const key = `${namespace}/${name}`;
    let u = this.units.get(key);
    if (!u) {
      u = { namespace, name, sentAt: NaN, pods: 0 };
      this.units.set(key, u);
    }
    return u;
  }

  private noteError(msg: string): void {
    if (this.errors.length < 20) this.errors.push(msg);
  }

  onPodEvent(type: string, obj: any, at: number): void {
    this.podEvents++;
    const md = obj?.metadata ?? {};
    const uid: string | undefined = md.uid;
    if (!uid) return;
    let p = this.pods.get(uid);
    if (!p) {
      const unitKey = this.unitKeyOfPod(obj);
      if (!unitKey || !this.units.has(unitKey)) {
        this.unknownPods++;
        return;
      }
      p = { unitKey, seenAt: at, skippedRunning: false };
      this.pods.set(uid, p);
      this.podsCreated.push(at);
      const owner = this.units.get(unitKey)!;
      owner.pods++;
      owner.podSeenAt ??= at;
    }
    const u = this.units.get(p.unitKey)!;
    const node: string | undefined = obj.spec?.nodeName;
    if (node && p.boundAt === undefined) {
      p.boundAt = at;
      p.node = node;
      this.binds.push(at);
      u.boundAt ??= at;
    }
    const phase: string | undefined = obj.status?.phase;
    if (phase === 'Running' && p.runningAt === undefined) {
      p.runningAt = at;
      this.running.push(at);
      if (u.runningAt === undefined) {
        u.runningAt = at;
        this.unitsRunning++;
      }
    }
    if ((phase === 'Succeeded' || phase === 'Failed') && p.finishedAt === undefined) {
      p.finishedAt = at;
      p.phase = phase;
      if (p.runningAt === undefined) {
        p.skippedRunning = true;
        if (u.runningAt === undefined) {
          u.runningAt = at;
          this.unitsRunning++;
        }
      }
    }
    if (type === 'DELETED' && p.goneAt === undefined) {
      p.goneAt = at;
      this.podsGone++;
      if (this.mode === 'pods' && u.goneAt === undefined) {
        u.goneAt = at;
        this.unitsGone++;
      }
    }
  }

  onJobEvent(type: string, obj: any, at: number): void {
    this.jobEvents++;
    const md = obj?.metadata ?? {};
    const u = this.units.get(`${md.namespace}/${md.name}`);
    if (!u) return;
    for (const c of obj.status?.conditions ?? []) {
      if (c?.status !== 'True') continue;
      if (c.type === 'Complete' && u.completeAt === undefined) {
        u.completeAt = at;
        this.unitsComplete++;
      } else if (c.type === 'Failed' && u.failedAt === undefined) {
        u.failedAt = at;
        this.unitsFailed++;
        this.noteError(`job ${md.namespace}/${md.name} failed: ${c.reason ?? ''} ${c.message ?? ''}`);
      }
    }
    if (type === 'DELETED' && u.goneAt === undefined) {
      u.goneAt = at;
      this.unitsGone++;
    }
  }

  private unitKeyOfPod(obj: any): string | undefined {
    const md = obj.metadata ?? {};
    if (this.mode === 'pods') return `${md.namespace}/${md.name}`;
    const owner = (md.ownerReferences ?? []).find((o: any) => o?.controller && o.kind === 'Job');
    const job = owner?.name ?? md.labels?.['batch.kubernetes.io/job-name'] ?? md.labels?.['job-name'];
    return job ? `${md.namespace}/${job}` : undefined;
  }

  podsLive(): number {
    return this.pods.size - this.podsGone;
  }
}

/**
 * A watch that keeps going: when the server ends the stream (timeout, restart), it is opened again
 * from the last resourceVersion seen, a bounded number of times. An ERROR event (410 Gone: history
 * compacted) cannot be resumed without a relist, so it is recorded as a failure.
 */
export class ResumableWatch {
  private stream: WatchStream | undefined;
  private lastRv: string;
  private reopening = false;
  reopened = 0;
  failures: string[] = [];
  private closed = false;

  constructor(
    private readonly ep: Endpoint,
    private readonly basePath: string,
    fromRv: string,
    private readonly onEvent: (type: string, obj: any, at: number) => void,
    private readonly maxReopens = 10,
  ) {
    this.lastRv = fromRv;
  }

  async open(): Promise<void> {
    const sep = this.basePath.includes('?') ? '&' : '?';
    const s = new WatchStream(this.ep, `${this.basePath}${sep}watch=1&resourceVersion=${this.lastRv}&timeoutSeconds=3600`, (line, at) => this.onLine(line, at));
    this.stream = s;
    await s.open(15_000);
  }

  private onLine(line: string, at: number): void {
    let ev: { type: string; object: any };
    try {
      ev = JSON.parse(line);
    } catch {
      this.fail(`unparsable watch line on ${this.basePath}: ${line.slice(0, 200)}`);
      return;
    }
    if (ev.type === 'ERROR') {
      this.fail(`watch ${this.basePath} answered ERROR: ${JSON.stringify(ev.object).slice(0, 300)}`);
      return;
    }
    const rv = ev.object?.metadata?.resourceVersion;
    if (rv) this.lastRv = rv;
    if (ev.type !== 'BOOKMARK') this.onEvent(ev.type, ev.object, at);
  }

  private fail(msg: string): void {
    if (this.failures.length < 10) this.failures.push(msg);
  }

  /** Called from the bench's polling loop: reopens a stream the server ended. */
  async check(): Promise<void> {
    if (this.closed || this.reopening || !this.stream?.ended) return;
    if (this.reopened >= this.maxReopens) {
      this.fail(`watch ${this.basePath} ended ${this.reopened + 1} times; giving up`);
      this.closed = true;
      return;
    }
    this.reopening = true;
    this.reopened++;
    try {
      await this.open();
    } catch (err) {
      this.fail(`reopening watch ${this.basePath}: ${(err as Error).message}`);
    } finally {
      this.reopening = false;
    }
  }

  close(): void {
    this.closed = true;
    this.stream?.close();
  }
}

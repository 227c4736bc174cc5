/**
 * What every pod worker shares, real or simulated, after the kubelet's pod worker: the pod it
 * follows, its container records, a loop that runs `step()` until nothing changed meanwhile, the
 * status sync, timers, events, the restart policy and CrashLoopBackOff (flowcontrol.Backoff keyed
 * by container: the first restart is immediate, each one after doubles the delay up to the
 * maximum, and an entry untouched for twice the maximum — 10 minutes by default — starts afresh).
 */
import type { KubeObject } from '../../api/types.js';
import type { Client } from '../../client/interface.js';
import { referenceOf, type EventRecorder } from '../../client/events.js';
import { goDuration } from '../../api/go-duration.js';
import type { ContainerRecord } from './pod-status.js';
import { newer, PodStatusSync } from './pod-sync.js';
import type { CoalescingWriter } from './writer.js';

export interface PodWorkerBaseContext {
  client: Client;
  writer: CoalescingWriter;
  recorder: EventRecorder | undefined;
  crashLoopBackOffMs: { initial: number; max: number };
  log(message: string): void;
  now(): number;
}

export abstract class PodWorkerBase {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  protected pod: KubeObject;
  protected init: ContainerRecord[] = [];
  protected regular: ContainerRecord[] = [];
  protected startTime: number | undefined;
  /** Over: killed, or finished with nothing to restart. */
  protected terminal = false;
  /** Containers stopped and sandbox released. */
  protected killed = false;
  protected gone = false;
  protected stopped = false;
  protected dirty = false;
  private stepping = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly backoff = new Map<string, { delayMs: number; lastUpdate: number }>();
  protected readonly sync: PodStatusSync;

  constructor(
    pod: KubeObject,
    private readonly base: PodWorkerBaseContext,
  ) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.namespace = pod.metadata?.namespace ?? '';
    this.name = pod.metadata?.name ?? '';
    this.sync = new PodStatusSync(base.client, {
      uid: this.uid,
      namespace: this.namespace,
      name: this.name,
      pod: () => this.pod,
      adoptWritten: (p) => {
        if (newer(p, this.pod)) this.pod = p;
      },
      desiredStatus: () => this.desiredStatus(),
      hasInitContainers: () => this.init.length > 0,
      killed: () => this.killed,
      retryAfter: (ms) => this.after(ms, () => this.requestWrite()),
      log: (m) => base.log(m),
    });
  }

  /** One pass over what should run; sets `dirty` when it wants another. */
  protected abstract step(): Promise<void>;
  /** The status fields the kubelet owns, as they should be now (undefined: nothing to write yet). */
  protected abstract desiredStatus(): Record<string, unknown> | undefined;

  /** Pulls, creates and starts a container for `r` (a restart when it ran before). */
  protected abstract startContainer(r: ContainerRecord): Promise<void>;

  /**
   * Init containers one by one (sidecars stay running), then every container that should run and
   * does not, as the restart policy and back-off allow; the pod is over when no container will run again.
   */
  protected async startDue(): Promise<void> {
    const restartPolicy = String(this.pod.spec?.restartPolicy ?? 'Always');
    for (const r of this.init) {
      if (r.kind === 'sidecar') {
        if (r.state !== 'running' && !(await this.startOrBackOff(r))) return;
        continue;
      }
      if (r.state === 'terminated' && r.terminated?.exitCode === 0) continue;
      if (r.state === 'running') return; // its exit brings the worker back
      if (r.state === 'terminated' && restartPolicy === 'Never') {
        this.terminal = true;
        this.dirty = true;
        return;
      }
      await this.startOrBackOff(r);
      return;
    }
    for (const r of this.regular) {
      if (r.state === 'running') continue;
      if (r.state === 'terminated' && !shouldRestart(r, restartPolicy)) continue;
      if (r.state === 'waiting' && r.last && !shouldRestart(r, restartPolicy)) continue;
      await this.startOrBackOff(r);
      if (this.dirty || this.gone) return;
    }
    if (this.regular.length > 0 && this.regular.every((r) => r.state === 'terminated' && !shouldRestart(r, restartPolicy))) {
      this.terminal = true;
      this.dirty = true;
    }
    this.requestWrite();
  }

  /** Starts `r` unless its restart is still backing off; false when it waits. */
  private async startOrBackOff(r: ContainerRecord): Promise<boolean> {
    if (this.backingOff(r)) return false;
    await this.startContainer(r);
    return true;
  }

  /** False while the worker must neither act nor write (a simulated node whose kubelet "died"). */
  protected alive(): boolean {
    return true;
  }

  /** A newer copy of the pod (from the informer). */
  update(pod: KubeObject): void {
    if (this.gone || !newer(pod, this.pod)) return;
    this.pod = pod;
    this.kick();
  }

  currentPod(): KubeObject {
    return this.pod;
  }

  /** The agent stops: drop timers, write nothing more. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
  }

  kick(): void {
    this.dirty = true;
    if (this.stepping || this.gone || this.stopped || !this.alive()) return;
    void this.loop();
  }

  /** Asks for a status write (and the final delete, when it is due). */
  requestWrite(): void {
    if (this.gone || this.stopped) return;
    this.base.writer.request(this.uid, () => (this.alive() ? this.sync.flush() : Promise.resolve()));
  }

  private async loop(): Promise<void> {
    this.stepping = true;
    try {
      while (this.dirty && !this.gone && !this.stopped && this.alive()) {
        this.dirty = false;
        try {
          await this.step();
        } catch (err) {
          if (this.gone || this.stopped) return;
          this.base.log(`pod ${this.namespace}/${this.name}: ${(err as Error).stack ?? err}`);
          this.after(1000, () => this.kick());
        }
      }
    } finally {
      this.stepping = false;
    }
  }

  /**
   * CrashLoopBackOff: true when `r`'s restart must still wait (it is then waiting with upstream's
   * reason and message, and the worker comes back when the delay is over); false when it may start now.
   */
  protected backingOff(r: ContainerRecord): boolean {
    const finished = r.state === 'terminated' ? r.terminated?.finishedAt : r.state === 'waiting' ? r.last?.finishedAt : undefined;
    if (finished === undefined) return false;
    const now = this.base.now();
    const { initial, max } = this.base.crashLoopBackOffMs;
    const b = this.backoff.get(r.name);
    const expired = !b || finished - b.lastUpdate > 2 * max;
    if (!expired && now - finished < b.delayMs) {
      if (r.state === 'terminated') {
        r.last = r.terminated;
        r.terminated = undefined;
        r.state = 'waiting';
      }
      const announce = r.waiting?.reason !== 'CrashLoopBackOff';
      r.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${goDuration(b.delayMs)} restarting failed container=${r.name} pod=${this.name}_${this.namespace}(${this.uid})`,
      };
      if (announce) this.event('Warning', 'BackOff', `Back-off restarting failed container ${r.name} in pod ${this.name}_${this.namespace}(${this.uid})`, r);
      this.after(finished + b.delayMs - now, () => this.kick());
      this.requestWrite();
      return true;
    }
    this.backoff.set(r.name, { delayMs: expired ? initial : Math.min(b.delayMs * 2, max), lastUpdate: now });
    return false;
  }

  /** The status manager's TerminatePod: what never finished is reported as lost, with 137. */
  protected markUnfinishedLost(): void {
    for (const r of [...this.init, ...this.regular]) {
      if (r.state === 'terminated') continue;
      r.state = 'terminated';
      r.waiting = undefined;
      r.terminated = {
        exitCode: 137,
        reason: 'ContainerStatusUnknown',
        message: 'The container could not be located when the pod was terminated',
        finishedAt: this.base.now(),
      };
    }
  }

  protected containerSpec(r: ContainerRecord): Record<string, any> | undefined {
    const list = r.kind === 'regular' ? this.pod.spec?.containers : this.pod.spec?.initContainers;
    return (Array.isArray(list) ? list : []).find((c: Record<string, any>) => c?.name === r.name);
  }

  protected event(type: 'Normal' | 'Warning', reason: string, message: string, r?: ContainerRecord): void {
    const recorder = this.base.recorder;
    if (!recorder || this.gone || this.stopped) return;
    const fieldPath = r ? `${r.kind === 'regular' ? 'spec.containers' : 'spec.initContainers'}{${r.name}}` : undefined;
    recorder.event(referenceOf(this.pod, fieldPath), type, reason, message);
  }

  protected after(ms: number, fn: () => void): void {
    if (this.gone || this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, Math.max(0, ms));
    t.unref();
    this.timers.add(t);
  }

  protected clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** Whether a container that ended is started again, as the restart policy says. */
export function shouldRestart(r: ContainerRecord, restartPolicy: string): boolean {
  if (restartPolicy === 'Always') return true;
  if (restartPolicy === 'Never') return false;
  const exit = r.state === 'terminated' ? r.terminated?.exitCode : r.last?.exitCode;
  return (exit ?? 0) !== 0;
}

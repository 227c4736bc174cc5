/**
 * What every informer-driven controller shares, after controller-runtime's shape: informers that
 * feed a work queue, workers that call `reconcile(key)`, backoff on failure, and start/stop. A
 * controller is then only its informers, its enqueue rules and its reconcile function.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import { WorkQueue } from '../client/workqueue.js';

export interface ControllerOptions {
  /** Reconciles running at once (default 1). */
  workers?: number;
  /** Backoff of a failed key: base and cap (defaults 5 ms, 1000 s, as the work queue). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  log?: (message: string) => void;
}

/** True for a namespace on its way out: nothing new may be created in it. */
export function isTerminating(ns: KubeObject): boolean {
  return Boolean(ns.metadata?.deletionTimestamp) || ns.status?.phase === 'Terminating';
}

export abstract class InformerController {
  protected readonly queue: WorkQueue;
  private readonly informers: Informer[] = [];
  private readonly shared: Informer[] = [];
  private readonly workers: Promise<void>[] = [];
  private readonly log: (message: string) => void;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(
    name: string,
    private readonly controllerOpts: ControllerOptions,
  ) {
    this.log = controllerOpts.log ?? ((m) => console.error(`${name}: ${m}`));
    this.queue = new WorkQueue({ baseDelayMs: controllerOpts.retryBaseDelayMs, maxDelayMs: controllerOpts.retryMaxDelayMs });
  }

  /** Makes `key` match what it should be. Throws what should be retried. */
  abstract reconcile(key: string): Promise<void>;

  /** Registers the informers the controller owns; they start and stop with it. */
  protected use(...informers: Informer[]): void {
    this.informers.push(...informers);
  }

  /** Registers shared informers the controller reads: it starts them (if no one has) and waits for them, but never stops them. */
  protected share(...informers: Informer[]): void {
    this.shared.push(...informers);
  }

  /** Resolves once every informer has listed and the workers run (or at stop()). */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const inf of this.informers) inf.stop();
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  private async run(): Promise<void> {
    const all = [...this.informers, ...this.shared];
    for (const inf of all) inf.start();
    const synced = await Promise.all(all.map((inf) => inf.waitForSync()));
    if (this.stopped || !synced.every(Boolean)) return;
    for (let i = 0; i < (this.controllerOpts.workers ?? 1); i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcile(key);
        this.queue.forget(key);
      } catch (err) {
        // Races (409, a 404 on update) are expected and only requeued; other failures are told.
        const race = err instanceof ApiError && (err.code === 409 || err.code === 404);
        if (!this.stopped && !race) this.log(`${key}: ${(err as Error).message}`);
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}

/**
 * The work queue controllers drain, after client-go's workqueue: de-duplicating, rate-limited,
 * with delayed adds.
 *
 * - A key added while it is queued is stored once.
 * - A key added while a worker holds it (between `get` and `done`) is queued again on `done`,
 *   so one key is never processed by two workers at once.
 * - `addRateLimited` waits 5 ms · 2^failures (capped at 1000 s) per key, until `forget`,
 *   as client-go's default item limiter.
 * - After `shutDown`, adds are ignored and `get` resolves `undefined`; queued keys are dropped.
 */

const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 1000 * 1000;

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class WorkQueue<T = string> {
  private readonly queue: T[] = [];
  /** Keys that need processing: queued, or added again while being processed. */
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  private readonly waiters: ((key: T | undefined) => void)[] = [];
  /** Delayed adds, one per key: the earliest ready time wins. */
  private readonly waiting = new Map<T, { readyAt: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<T, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? BASE_DELAY_MS;
    this.maxDelayMs = opts.maxDelayMs ?? MAX_DELAY_MS;
  }

  add(key: T): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // queued again by done()
    this.queue.push(key);
    this.dispatch();
  }

  /** The next key to process; hold it until `done(key)`. `undefined` once the queue is shut down. */
  get(): Promise<T | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.queue.length > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile, it is queued again. */
  done(key: T): void {
    this.processing.delete(key);
    if (this.shuttingDown || !this.dirty.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /** Adds `key` after `ms` milliseconds; an earlier pending delayed add of the same key wins. */
  addAfter(key: T, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = Date.now() + ms;
    const pending = this.waiting.get(key);
    if (pending) {
      if (pending.readyAt <= readyAt) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.waiting.set(key, { readyAt, timer });
  }

  /** Adds `key` after its per-key exponential backoff, and counts one more failure for it. */
  addRateLimited(key: T): void {
    this.addAfter(key, this.when(key));
  }

  /** The backoff `addRateLimited` would use next for `key`, counting it as a failure. */
  private when(key: T): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
  }

  /** Clears `key`'s failure count: its next `addRateLimited` waits the base delay again. */
  forget(key: T): void {
    this.failures.delete(key);
  }

  /** How many times `key` went through `addRateLimited` since it was last forgotten. */
  numRequeues(key: T): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys queued and not yet handed out (not counting those in process or delayed). */
  len(): number {
    return this.queue.length;
  }

  /** True when nothing is queued, waiting for a retry, or being processed. */
  isIdle(): boolean {
    return this.dirty.size === 0 && this.processing.size === 0 && this.waiting.size === 0;
  }

  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private take(): T {
    const key = this.queue.shift() as T;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private dispatch(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) this.waiters.shift()!(this.take());
  }
}

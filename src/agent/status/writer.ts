/**
 * The pod status writer: at most `maxInFlight` writes at once across every pod, at most one per pod,
 * and coalescing. A pod asks to be written; what is written is computed when its turn comes, so a
 * pod that went Pending → Running while it waited is written once, as Running. A pod asking again
 * while its write is in flight is written once more after it. This is what lets 30,000 pods start
 * in a burst without 60,000 requests racing each other.
 */

/** A FIFO with O(1) push and shift (Array#shift is linear). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  push(v: T): void {
    this.items.push(v);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class CoalescingWriter {
  private readonly queue = new Fifo<string>();
  private readonly queued = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();
  private readonly writes = new Map<string, () => Promise<void>>();
  private readonly idleWaiters: (() => void)[] = [];
  private running = 0;
  private stopped = false;

  constructor(
    private readonly maxInFlight: number,
    private readonly onError: (key: string, err: unknown) => void = () => undefined,
  ) {}

  /** Asks for `key` to be written by `write` when its turn comes (the latest `write` given wins). */
  request(key: string, write: () => Promise<void>): void {
    if (this.stopped) return;
    this.writes.set(key, write);
    if (this.inFlight.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Drops what `key` still wanted written (its pod is gone); a write in flight finishes. */
  forget(key: string): void {
    this.writes.delete(key);
    this.again.delete(key);
    // A queued key without a write is skipped when its turn comes.
  }

  /** Writes waiting or in flight. */
  backlog(): number {
    return this.queue.length + this.running;
  }

  /** Resolves when nothing is waiting or in flight. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops everything waiting; resolves once the writes in flight have finished. */
  stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    this.queued.clear();
    this.again.clear();
    this.writes.clear();
    return this.idle();
  }

  private pump(): void {
    while (this.running < this.maxInFlight && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      const write = this.writes.get(key);
      if (!write) continue;
      this.writes.delete(key);
      this.running++;
      this.inFlight.add(key);
      void this.run(key, write);
    }
    if (this.running === 0 && this.queue.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async run(key: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!this.stopped) this.onError(key, err);
    } finally {
      this.running--;
      this.inFlight.delete(key);
      if (this.again.delete(key)) {
        const next = this.writes.get(key);
        if (next && !this.stopped) {
          this.writes.delete(key);
          this.request(key, next);
        }
      }
      this.pump();
    }
  }
}

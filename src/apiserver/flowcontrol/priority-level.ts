/**
 * One priority level's seats and queues, in the spirit of upstream's fair queuing
 * (apiserver/pkg/util/flowcontrol/fairqueuing/queueset): a request takes a seat when one is free and
 * nobody waits; otherwise it is shuffle-sharded onto the shortest of its flow's `handSize` queues,
 * and freed seats go round-robin over the non-empty queues, so one busy flow cannot starve the
 * others. A full queue, a level without queues, or a wait longer than the queue wait limit is a
 * rejection (429).
 *
 * Simpler than upstream: every request costs one seat (no work estimates), seats are not lent or
 * borrowed between levels, and round-robin over queues stands in for virtual-time fair queuing.
 */

export interface Waiter {
  /** Called once: `true` with a seat taken for it, `false` when it was rejected (timed out in its queue). */
  settle(admitted: boolean): void;
  timer: NodeJS.Timeout | undefined;
}

export interface PriorityLevelStats {
  name: string;
  concurrencyLimit: number;
  executing: number;
  waiting: number;
  rejected: number;
}

/** Reused by every deal: the event loop runs one request's classification at a time. */
const scratchHand: number[] = [];

export class PriorityLevel {
  executing = 0;
  waiting = 0;
  rejected = 0;
  private readonly queues: Waiter[][];
  private readonly heads: number[];
  private next = 0;

  constructor(
    readonly name: string,
    readonly uid: string,
    /** Seats; Infinity for an exempt level. */
    readonly concurrencyLimit: number,
    queues: number,
    private readonly handSize: number,
    private readonly queueLengthLimit: number,
  ) {
    this.queues = Array.from({ length: queues }, () => []);
    this.heads = new Array<number>(queues).fill(0);
  }

  /** Takes a seat if one is free and nobody is waiting for one. */
  tryAcquire(): boolean {
    if (this.executing < this.concurrencyLimit && this.waiting === 0) {
      this.executing++;
      return true;
    }
    return false;
  }

  /** Queues a waiter for the flow with hash `flowHash`; false when it must be rejected now. */
  enqueue(flowHash: number, w: Waiter): boolean {
    const n = this.queues.length;
    if (n === 0) return false;
    const i = this.shortestOfHand(flowHash);
    const q = this.queues[i];
    if (q.length - this.heads[i] >= this.queueLengthLimit) return false;
    q.push(w);
    this.waiting++;
    return true;
  }

  /** Forgets a waiter that gave up (its queue wait ran out, or its client went away). */
  remove(w: Waiter): boolean {
    for (let i = 0; i < this.queues.length; i++) {
      const q = this.queues[i];
      const at = q.indexOf(w, this.heads[i]);
      if (at !== -1) {
        q.splice(at, 1);
        this.waiting--;
        return true;
      }
    }
    return false;
  }

  /** Gives back a seat and hands free seats to waiting requests, one queue at a time. */
  release(): void {
    this.executing--;
    while (this.waiting > 0 && this.executing < this.concurrencyLimit) {
      const w = this.dequeueRoundRobin();
      if (!w) break;
      this.executing++;
      w.settle(true);
    }
  }

  stats(): PriorityLevelStats {
    return { name: this.name, concurrencyLimit: this.concurrencyLimit, executing: this.executing, waiting: this.waiting, rejected: this.rejected };
  }

  private dequeueRoundRobin(): Waiter | undefined {
    const n = this.queues.length;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      const q = this.queues[i];
      if (this.heads[i] < q.length) {
        const w = q[this.heads[i]++];
        if (this.heads[i] === q.length) {
          q.length = 0;
          this.heads[i] = 0;
        }
        this.next = (i + 1) % n;
        this.waiting--;
        return w;
      }
    }
    return undefined;
  }

  /**
   * Upstream's shuffle sharding: the flow's hash deals `handSize` distinct queues out of all of
   * them (a mixed-radix reading of the hash), and the request joins the shortest.
   */
  private shortestOfHand(flowHash: number): number {
    const n = this.queues.length;
    const hand = Math.min(this.handSize, n);
    let h = flowHash >>> 0;
    let best = -1;
    let bestLen = Infinity;
    scratchHand.length = 0;
    for (let i = 0; i < hand; i++) {
      // Pick the r-th queue not dealt yet.
      let r = h % (n - i);
      h = Math.floor(h / (n - i)) + (h % 7919) * 31;
      let idx = 0;
      for (; ; idx++) {
        if (scratchHand.includes(idx)) continue;
        if (r-- === 0) break;
      }
      scratchHand.push(idx);
      const len = this.queues[idx].length - this.heads[idx];
      if (len < bestLen) {
        bestLen = len;
        best = idx;
      }
    }
    return best;
  }
}

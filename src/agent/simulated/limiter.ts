/**
 * Bounded concurrency for the agent's writes. Thousands of simulated kubelets share one process and
 * one API server; each kind of write (pod status, events, node heartbeats) gets its own budget so a
 * flood of events cannot starve status writes, and no burst opens thousands of requests at once.
 */
import type { Client } from '../../client/interface.js';

export class ConcurrencyLimiter {
  private readonly waiting: (() => void)[] = [];
  private active = 0;

  constructor(readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so `active` never dips and lets a newcomer jump the line.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Requests running or waiting. */
  pending(): number {
    return this.active + this.waiting.length;
  }
}

/** `client` with its writes (create, update, patch, delete) run through `limiter`; reads and watches as they are. */
export function limitedClient(client: Client, limiter: ConcurrencyLimiter): Client {
  return {
    get: (ref, ns, name) => client.get(ref, ns, name),
    list: (ref, ns, opts) => client.list(ref, ns, opts),
    watch: (ref, ns, opts, onEvent) => client.watch(ref, ns, opts, onEvent),
    resources: () => client.resources(),
    create: (ref, ns, obj, opts) => limiter.run(() => client.create(ref, ns, obj, opts)),
    update: (ref, ns, obj, opts) => limiter.run(() => client.update(ref, ns, obj, opts)),
    patch: (ref, ns, name, type, patch, opts) => limiter.run(() => client.patch(ref, ns, name, type, patch, opts)),
    delete: (ref, ns, name, opts) => limiter.run(() => client.delete(ref, ns, name, opts)),
  };
}

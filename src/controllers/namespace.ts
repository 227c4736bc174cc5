/**
 * The namespace controller: empties a terminating namespace, then removes the "kubernetes"
 * finalizer so the API server can delete it. Level-based: it only looks at the namespace's state.
 */
import type { KubeObject } from '../api/types.js';
import type { Client } from '../client/interface.js';
import { ApiError } from '../api/errors.js';
import { NAMESPACES } from './pods.js';

const FINALIZER = 'kubernetes';
const RETRY_MS = 1000;

export class NamespaceController {
  private readonly queue = new Set<string>();
  private running = false;
  private stopped = false;
  private watch: { stop(): void } | undefined;
  private timers = new Set<NodeJS.Timeout>();

  constructor(private readonly client: Client) {}

  start(): void {
    this.watch = this.client.watch(NAMESPACES, '', {}, (type, obj) => {
      if (type === 'ERROR') {
        // The watch ended (e.g. the server restarted its cache); start over from the current state.
        this.watch?.stop();
        if (!this.stopped) this.schedule(() => this.start());
        return;
      }
      if ((type === 'ADDED' || type === 'MODIFIED') && obj.metadata?.deletionTimestamp) this.enqueue(obj.metadata.name!);
    });
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    for (const t of this.timers) clearTimeout(t);
  }

  private schedule(fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, RETRY_MS);
    this.timers.add(t);
  }

  private enqueue(name: string): void {
    this.queue.add(name);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.size > 0 && !this.stopped) {
        const name = this.queue.values().next().value as string;
        this.queue.delete(name);
        let done = false;
        try {
          done = await this.reconcile(name);
        } catch (err) {
          console.error(`namespace controller: ${name}: ${(err as Error).message}`);
        }
        if (!done && !this.stopped) this.schedule(() => this.enqueue(name));
      }
    } finally {
      this.running = false;
    }
  }

  /** Deletes what is left in the namespace; counts what is still on its way out. */
  private async sweep(namespace: string): Promise<{ pending: number; deleted: number }> {
    let pending = 0;
    let deleted = 0;
    const seen = new Set<string>();
    for (const r of await this.client.resources()) {
      if (!r.namespaced || !r.preferred || !r.verbs.includes('delete') || !r.verbs.includes('list')) continue;
      const { items } = await this.client.list(r.ref, namespace);
      for (const item of items) {
        // Several group-versions can serve the same objects (events): count each object once.
        const uid = item.metadata?.uid ?? '';
        if (seen.has(uid)) continue;
        seen.add(uid);
        if (item.metadata?.deletionTimestamp) {
          pending++;
          continue;
        }
        try {
          await this.client.delete(r.ref, namespace, item.metadata!.name!, { propagationPolicy: 'Background' });
          deleted++;
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
    }
    return { pending, deleted };
  }

  /** Returns true when there is nothing left to do for this namespace. */
  async reconcile(name: string): Promise<boolean> {
    let ns: KubeObject;
    try {
      ns = await this.client.get(NAMESPACES, '', name);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return true;
      throw err;
    }
    if (!ns.metadata?.deletionTimestamp) return true;
    const finalizers: string[] = ns.spec?.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return true;

    // Deleting may reveal nothing new (done) or leave objects that finish later (finalizers, grace).
    for (let pass = 0; ; pass++) {
      const { pending, deleted } = await this.sweep(name);
      if (pending > 0) return false;
      if (deleted === 0) break;
      if (pass >= 3) return false;
    }
    await this.client.update(NAMESPACES, '', { ...ns, spec: { ...ns.spec, finalizers: finalizers.filter((f) => f !== FINALIZER) } }, { subresource: 'finalize' });
    return true;
  }
}

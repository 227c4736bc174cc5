/**
 * Encryption at rest as a Store wrapper: values of the configured resources are sealed on their way
 * into the backend and opened on their way out (get, list, watch events, conflict and delete
 * answers), so neither SQLite's file nor etcd ever holds their plaintext.
 *
 * A value read with anything but the primary key (the first provider's first key) comes back with
 * `stale` set: the update path then rewrites it even when nothing changed, which is how
 * `skiff encryption rewrite` (upstream: `kubectl replace` of every object) moves data to a new key.
 */
import { errors } from '../../api/errors.js';
import { StoreError, isStoreError, type KeyValue, type ListOptions, type ListResult, type Store, type WatchHandler, type Watcher } from '../../storage/store.js';
import { resourcePrefixOf } from '../watch-cache.js';
import type { GroupResource, ResourceTransformers } from './config.js';
import { readValue, type Provider } from './providers.js';

/** The group and resource of a resource prefix as the watch cache cuts it: /registry/<resource>/ or /registry/<group>/<resource>/. */
function groupResourceOf(prefix: string): GroupResource | undefined {
  const segs = prefix.split('/').filter(Boolean);
  if (segs[0] !== 'registry' || segs.length < 2) return undefined;
  return segs.length === 3 ? { group: segs[1], resource: segs[2] } : { group: '', resource: segs[1] };
}

export class EncryptingStore implements Store {
  readonly name: string;
  /** Providers per resource prefix; null for resources stored as they are. */
  private readonly byPrefix = new Map<string, readonly Provider[] | null>();

  constructor(
    private readonly inner: Store,
    private readonly transformers: ResourceTransformers,
  ) {
    this.name = inner.name;
  }

  private providersFor(key: string): readonly Provider[] | null {
    if (!key.startsWith('/registry/')) return null;
    const prefix = resourcePrefixOf(key);
    let p = this.byPrefix.get(prefix);
    if (p === undefined) {
      const gr = groupResourceOf(prefix);
      p = (gr && this.transformers.lookup(gr)) || null;
      this.byPrefix.set(prefix, p);
    }
    return p;
  }

  private seal(key: string, value: string): string {
    const p = this.providersFor(key);
    return p ? p[0].toStorage(value, key) : value;
  }

  /** Opens a stored value; throws upstream's internal error, naming the storage key when `named`. */
  private open(kv: KeyValue, named: boolean): KeyValue {
    const p = this.providersFor(kv.key);
    if (!p) return kv;
    let r;
    try {
      r = readValue(p, kv.value, kv.key);
    } catch (err) {
      const msg = (err as Error).message;
      throw errors.internal(named ? `unable to transform key ${JSON.stringify(kv.key)}: ${msg}` : msg);
    }
    const out: KeyValue = { ...kv, value: r.value };
    if (r.stale) out.stale = true;
    return out;
  }

  private rethrow(err: unknown): never {
    if (isStoreError(err) && err.current) throw new StoreError(err.code, err.message, this.open(err.current, false));
    throw err;
  }

  currentRevision(): Promise<number> {
    return this.inner.currentRevision();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const kv = await this.inner.get(key);
    return kv && this.open(kv, false);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    try {
      const kv = await this.inner.create(key, this.seal(key, value));
      return { ...kv, value };
    } catch (err) {
      this.rethrow(err);
    }
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    try {
      const kv = await this.inner.update(key, this.seal(key, value), expectedModRevision);
      return { ...kv, value };
    } catch (err) {
      this.rethrow(err);
    }
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    try {
      return this.open(await this.inner.delete(key, expectedModRevision), false);
    } catch (err) {
      this.rethrow(err);
    }
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    const at = opts?.revision;
    if (at !== undefined && opts?.startAfter === undefined) {
      const current = await this.inner.currentRevision();
      if (current > at && !(await this.historyReadable(at, current))) {
        throw new StoreError('Compacted', `history after revision ${at} holds values sealed with keys no longer configured`);
      }
    }
    const r = await this.inner.list(prefix, opts);
    try {
      return { ...r, items: r.items.map((kv) => this.open(kv, true)) };
    } catch (err) {
      if (opts?.revision !== undefined && opts.revision < (await this.inner.currentRevision())) {
        throw new StoreError('Compacted', `the state at revision ${opts.revision} holds values sealed with keys no longer configured`);
      }
      throw err;
    }
  }

  /**
   * Whether every value written after `from` up to `to` still opens. The API server's watch cache
   * primes itself from a past revision and replays the writes since; history sealed with a retired
   * key cannot be replayed, and for this server it is as good as compacted (the cache then starts
   * from the current state, which the rewrite made readable).
   */
  private historyReadable(from: number, to: number): Promise<boolean> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        queueMicrotask(() => w.stop());
        resolve(ok);
      };
      // A window that cannot be read in time is taken as readable: the replay itself will tell.
      const timer = setTimeout(() => finish(true), 30_000);
      const w = this.inner.watch('', from, {
        onEvent: (ev) => {
          if (done) return;
          try {
            this.open(ev.kv, true);
            if (ev.prevKv) this.open(ev.prevKv, true);
          } catch {
            finish(false);
            return;
          }
          if (ev.revision >= to) finish(true);
        },
        onError: () => finish(false),
      });
    });
  }

  count(prefix: string): Promise<number> {
    return this.inner.count(prefix);
  }

  watch(prefix: string, afterRevision: number, handler: WatchHandler): Watcher {
    let failed = false;
    const w = this.inner.watch(prefix, afterRevision, {
      onEvent: (ev) => {
        if (failed) return;
        let opened = ev;
        try {
          const kv = this.open(ev.kv, true);
          const prevKv = ev.prevKv && this.open(ev.prevKv, true);
          if (kv !== ev.kv || prevKv !== ev.prevKv) opened = { ...ev, kv, prevKv };
        } catch (err) {
          // A value no configured key opens cannot be delivered; the watch is over, as upstream's
          // watcher ends with an error event.
          failed = true;
          w.stop();
          handler.onError(new StoreError('Unavailable', (err as Error).message));
          return;
        }
        handler.onEvent(opened);
      },
      onError: (err) => handler.onError(err),
    });
    return w;
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

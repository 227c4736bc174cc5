/**
 * An informer for one resource, after client-go's shared informer, small enough to read at once:
 * list (in pages), then watch from the list's resourceVersion, keeping a local store that handlers
 * and listers read instead of the API.
 *
 * - The store is keyed `namespace/name`, or `name` for cluster-scoped objects.
 * - Objects in the store, and those given to handlers, are shared and frozen: copy before changing.
 * - A watch that ends with 410 Expired (or without a Status code, as a closed stream) is followed by
 *   a relist; the store is brought in line with it, emitting adds, updates (changed resourceVersion)
 *   and deletes (objects that vanished). Any other watch error resumes the watch from the last
 *   resourceVersion seen. Errors wait a bounded exponential backoff (100 ms → 5 s by default).
 * - Handlers added after objects are in the store get an `onAdd` for each of them first.
 */
import type { KubeObject } from '../api/types.js';
import type { Client, ResourceRef, WatchEventType, WatchHandle } from './interface.js';

export interface InformerOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of lists (default 500). */
  pageSize?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Where a handler's exception goes (default: console.error). */
  onHandlerError?: (err: unknown) => void;
}

export type IndexFunc = (obj: KubeObject) => string[];

interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/** The store key of an object: `namespace/name`, or `name` when it has no namespace. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export class Informer {
  private readonly items = new Map<string, KubeObject>();
  private readonly indexers = new Map<string, { fn: IndexFunc; index: Map<string, Set<string>> }>();
  private readonly addHandlers: ((obj: KubeObject) => void)[] = [];
  private readonly updateHandlers: ((oldObj: KubeObject, newObj: KubeObject) => void)[] = [];
  private readonly deleteHandlers: ((obj: KubeObject) => void)[] = [];
  private readonly syncWaiters: ((synced: boolean) => void)[] = [];
  private readonly opts: Required<Omit<InformerOptions, 'labelSelector' | 'fieldSelector'>>;

  private lastResourceVersion = '';
  private synced = false;
  private started = false;
  private stopped = false;
  private failures = 0;
  private currentWatch: { stop(): void } | undefined;
  private sleeping: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(
    private readonly client: Client,
    readonly ref: ResourceRef,
    readonly namespace: string = '',
    private readonly options: InformerOptions = {},
  ) {
    this.opts = {
      pageSize: options.pageSize ?? 500,
      backoffBaseMs: options.backoffBaseMs ?? 100,
      backoffMaxMs: options.backoffMaxMs ?? 5000,
      onHandlerError: options.onHandlerError ?? ((err) => console.error(`informer ${ref.resource}: handler failed:`, err)),
    };
  }

  // ---- handlers ----

  onAdd(fn: (obj: KubeObject) => void): this {
    this.addHandlers.push(fn);
    for (const obj of this.items.values()) this.call(() => fn(obj));
    return this;
  }

  onUpdate(fn: (oldObj: KubeObject, newObj: KubeObject) => void): this {
    this.updateHandlers.push(fn);
    return this;
  }

  onDelete(fn: (obj: KubeObject) => void): this {
    this.deleteHandlers.push(fn);
    return this;
  }

  // ---- lifecycle ----

  /** Starts listing and watching in the background. */
  start(): this {
    if (this.started || this.stopped) return this;
    this.started = true;
    void this.run();
    return this;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the store, or false if the informer stops first. */
  waitForSync(): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The resourceVersion of the last list or watch event seen. */
  lastSyncResourceVersion(): string {
    return this.lastResourceVersion;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.currentWatch?.stop();
    this.currentWatch = undefined;
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.resolve();
    }
    for (const resolve of this.syncWaiters.splice(0)) resolve(false);
  }

  // ---- lister and indexers ----

  get(key: string): KubeObject | undefined {
    return this.items.get(key);
  }

  list(): KubeObject[] {
    return [...this.items.values()];
  }

  listByNamespace(namespace: string): KubeObject[] {
    return this.list().filter((o) => (o.metadata?.namespace ?? '') === namespace);
  }

  listKeys(): string[] {
    return [...this.items.keys()];
  }

  /** Adds an index; `fn` gives the index values of an object. Objects already stored are indexed now. */
  addIndexer(name: string, fn: IndexFunc): void {
    if (this.indexers.has(name)) throw new Error(`indexer ${name} already exists`);
    const idx = { fn, index: new Map<string, Set<string>>() };
    this.indexers.set(name, idx);
    for (const [key, obj] of this.items) this.indexAdd(idx, key, obj);
  }

  byIndex(name: string, value: string): KubeObject[] {
    const idx = this.indexers.get(name);
    if (!idx) throw new Error(`indexer ${name} does not exist`);
    return [...(idx.index.get(value) ?? [])].map((k) => this.items.get(k)!);
  }

  // ---- the list-and-watch loop ----

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.relist();
        } catch {
          if (!this.stopped) await this.backoff();
          continue;
        }
        if (this.stopped) return;
        needList = false;
        if (!this.synced) {
          this.synced = true;
          for (const resolve of this.syncWaiters.splice(0)) resolve(true);
        }
      }
      const startedAt = Date.now();
      const { status, events } = await this.watchOnce();
      if (this.stopped) return;
      // A watch that did its job resets the backoff; a watch that fails at once grows it.
      if (events > 0 || Date.now() - startedAt > 2 * this.opts.backoffMaxMs) this.failures = 0;
      if (status.code === 410 || status.code === undefined) needList = true;
      await this.backoff();
    }
  }

  /** Lists every page, then makes the store equal to the list, emitting the differences. */
  private async relist(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let resourceVersion = '';
    let cont: string | undefined;
    do {
      const page = await this.client.list(this.ref, this.namespace, {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        limit: this.opts.pageSize,
        continue: cont,
      });
      if (!resourceVersion) resourceVersion = page.resourceVersion;
      for (const item of page.items) fresh.set(objectKey(item), deepFreeze(item));
      cont = page.continue || undefined;
    } while (cont && !this.stopped);
    if (this.stopped) return;

    for (const [key, old] of [...this.items]) {
      if (!fresh.has(key)) this.remove(key, old);
    }
    for (const [key, obj] of fresh) {
      const old = this.items.get(key);
      if (!old) this.put(key, obj, undefined);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.put(key, obj, old);
    }
    this.lastResourceVersion = resourceVersion;
  }

  /** Watches from the last resourceVersion until the watch ends (ERROR) or the informer stops. */
  private watchOnce(): Promise<{ status: WatchStatus; events: number }> {
    return new Promise((resolve) => {
      let over = false;
      let events = 0;
      let handle: WatchHandle | undefined;
      const finish = (status: WatchStatus) => {
        if (over) return;
        over = true;
        handle?.stop();
        this.currentWatch = undefined;
        resolve({ status, events });
      };
      this.currentWatch = { stop: () => finish({ code: 0, reason: 'Stopped' }) };
      const onEvent = (type: WatchEventType, obj: KubeObject) => {
        if (over || this.stopped) return;
        if (type === 'ERROR') {
          finish(obj as WatchStatus);
          return;
        }
        events++;
        this.apply(type, obj);
      };
      try {
        handle = this.client.watch(
          this.ref,
          this.namespace,
          {
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            resourceVersion: this.lastResourceVersion,
            allowWatchBookmarks: true,
          },
          onEvent,
        );
        if (over) handle.stop(); // the ERROR came synchronously, before the handle
      } catch (err) {
        const e = err as { code?: unknown; reason?: unknown; message?: unknown };
        finish({ code: typeof e?.code === 'number' ? e.code : 500, reason: String(e?.reason ?? 'InternalError'), message: String(e?.message ?? err) });
      }
    });
  }

  private apply(type: WatchEventType, obj: KubeObject): void {
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.lastResourceVersion = rv;
    if (type === 'BOOKMARK') return;
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (type === 'DELETED') {
      if (old) this.remove(key, obj);
      return;
    }
    // ADDED or MODIFIED: what matters is whether the store knew the object.
    this.put(key, deepFreeze(obj), old);
  }

  private put(key: string, obj: KubeObject, old: KubeObject | undefined): void {
    if (old) for (const idx of this.indexers.values()) this.indexRemove(idx, key, old);
    this.items.set(key, obj);
    for (const idx of this.indexers.values()) this.indexAdd(idx, key, obj);
    if (old) for (const fn of this.updateHandlers) this.call(() => fn(old, obj));
    else for (const fn of this.addHandlers) this.call(() => fn(obj));
  }

  /** Removes `key`; `last` is the object handed to delete handlers (the final state when known). */
  private remove(key: string, last: KubeObject): void {
    const old = this.items.get(key);
    if (!old) return;
    for (const idx of this.indexers.values()) this.indexRemove(idx, key, old);
    this.items.delete(key);
    for (const fn of this.deleteHandlers) this.call(() => fn(last));
  }

  private indexAdd(idx: { fn: IndexFunc; index: Map<string, Set<string>> }, key: string, obj: KubeObject): void {
    for (const v of this.indexValues(idx.fn, obj)) {
      let keys = idx.index.get(v);
      if (!keys) idx.index.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  private indexRemove(idx: { fn: IndexFunc; index: Map<string, Set<string>> }, key: string, obj: KubeObject): void {
    for (const v of this.indexValues(idx.fn, obj)) {
      const keys = idx.index.get(v);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) idx.index.delete(v);
    }
  }

  private indexValues(fn: IndexFunc, obj: KubeObject): string[] {
    try {
      return fn(obj);
    } catch (err) {
      this.opts.onHandlerError(err);
      return [];
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.onHandlerError(err);
    }
  }

  private backoff(): Promise<void> {
    const delay = Math.min(this.opts.backoffBaseMs * 2 ** this.failures, this.opts.backoffMaxMs);
    this.failures++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeping = undefined;
        resolve();
      }, delay);
      timer.unref();
      this.sleeping = { timer, resolve };
    });
  }
}

/** Freezes an object graph once; objects already frozen at the top are taken as done. */
function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  for (const child of Object.values(v as object)) deepFreeze(child);
  return Object.freeze(v);
}

/**
 * The watch cache: one store watch over all of /registry/, fanned out to a cache per resource.
 *
 * One watch (rather than one per resource) gives a single revision that tracks the store exactly:
 * every write lands under /registry/, so after the hub has processed revision R it knows each
 * resource's state at R, even for resources that had no event. That is what lets a watch or a
 * resourceVersion=0 list be served from memory without asking the store.
 */
import { StoreError, type KeyValue, type Store, type Watcher, type WatchEvent } from '../storage/store.js';
import type { KubeObject } from '../api/types.js';
import { errors } from '../api/errors.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CachedObject {
  key: string;
  obj: KubeObject;
  /** The object's JSON with metadata.resourceVersion set; serialized once, shared by every reader. */
  json: string;
  rv: number;
}

export interface CacheEvent {
  type: EventType;
  rv: number;
  key: string;
  obj: KubeObject;
  json: string;
  /** The object before this event (for MODIFIED and DELETED), so selectors can see transitions. */
  prev?: KubeObject;
}

export interface CacheWatcherSpec {
  /** Only keys under this prefix (resource prefix, plus namespace when set). */
  keyPrefix: string;
  matches(obj: KubeObject): boolean;
  onEvent(type: EventType, ev: CacheEvent): void;
  /** Called when the hub reaches a new revision with no matching event (for bookmarks). */
  onProgress?(rv: number): void;
}

interface CacheWatcher extends CacheWatcherSpec {
  stopped: boolean;
}

/** How many recent events each resource keeps for watches that resume from a past revision. */
const EVENT_WINDOW = 10_000;
/** How far back in store history a starting cache reaches (see start()). */
const PRIME_REVISIONS = 2_000;

/** Built-in groups whose name has no dot; any other group in a key contains one. */
const DOTLESS_GROUPS = new Set(['apps', 'batch', 'policy', 'autoscaling', 'extensions']);

/** "/registry/pods/ns/x" → "/registry/pods/"; "/registry/apps/deployments/ns/x" → "/registry/apps/deployments/". */
export function resourcePrefixOf(key: string): string {
  const parts = key.split('/', 5);
  const seg = parts[2] ?? '';
  const grouped = DOTLESS_GROUPS.has(seg) || seg.includes('.');
  return grouped ? `/${parts[1]}/${seg}/${parts[3]}/` : `/${parts[1]}/${seg}/`;
}

/** Puts the resourceVersion into stored JSON, which is always written starting `{"apiVersion":…,"kind":…,"metadata":{`. */
export function withResourceVersion(json: string, rv: number): string {
  const at = json.indexOf('"metadata":{');
  if (at === -1) return json;
  const insertAt = at + 12;
  const sep = json.charCodeAt(insertAt) === 125 /* } */ ? '' : ',';
  return `${json.slice(0, insertAt)}"resourceVersion":"${rv}"${sep}${json.slice(insertAt)}`;
}

export function decodeStored(kv: KeyValue, rv = kv.modRevision): CachedObject {
  const json = withResourceVersion(kv.value, rv);
  return { key: kv.key, obj: JSON.parse(json) as KubeObject, json, rv };
}

/** Like decodeStored, but parses only when someone reads `obj` (a plain JSON GET never does). */
export function lazyStored(kv: KeyValue): CachedObject {
  const json = withResourceVersion(kv.value, kv.modRevision);
  let obj: KubeObject | undefined;
  return {
    key: kv.key,
    json,
    rv: kv.modRevision,
    get obj() {
      return (obj ??= JSON.parse(json) as KubeObject);
    },
  };
}

export class ResourceCache {
  readonly objects = new Map<string, CachedObject>();
  private sorted: CachedObject[] | null = null;
  private readonly events: CacheEvent[] = [];
  private eventStart = 0;
  /** Events with rv <= this are not in the window any more (initially: the revision the cache was filled at). */
  private windowFloor: number;
  readonly watchers = new Set<CacheWatcher>();

  constructor(
    readonly prefix: string,
    filledAt: number,
  ) {
    this.windowFloor = filledAt;
  }

  /** Objects in key order (what a list returns). */
  list(): CachedObject[] {
    if (!this.sorted) {
      this.sorted = [...this.objects.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    return this.sorted;
  }

  apply(ev: CacheEvent): void {
    if (ev.type === 'DELETED') {
      this.objects.delete(ev.key);
      this.sorted = null;
    } else {
      const had = this.objects.has(ev.key);
      this.objects.set(ev.key, { key: ev.key, obj: ev.obj, json: ev.json, rv: ev.rv });
      if (!had) this.sorted = null;
      else if (this.sorted) {
        // Same key set, same order: swap the entry in place rather than resorting.
        const i = this.indexOf(ev.key);
        if (i >= 0) this.sorted[i] = this.objects.get(ev.key)!;
        else this.sorted = null;
      }
    }
    this.events.push(ev);
    if (this.events.length - this.eventStart > EVENT_WINDOW) {
      this.windowFloor = this.events[this.eventStart].rv;
      this.eventStart++;
      if (this.eventStart > EVENT_WINDOW) {
        this.events.splice(0, this.eventStart);
        this.eventStart = 0;
      }
    }
    for (const w of this.watchers) deliver(w, ev);
  }

  private indexOf(key: string): number {
    const s = this.sorted!;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = s[mid].key;
      if (k === key) return mid;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Events after `rv` still in the window, or undefined when some of them were already dropped. */
  eventsAfter(rv: number): CacheEvent[] | undefined {
    if (rv < this.windowFloor) return undefined;
    const out: CacheEvent[] = [];
    // Events are in revision order; find the first one after rv from the end (resumes are usually recent).
    let i = this.events.length - 1;
    while (i >= this.eventStart && this.events[i].rv > rv) i--;
    for (let j = i + 1; j < this.events.length; j++) out.push(this.events[j]);
    return out;
  }

  get oldestResumable(): number {
    return this.windowFloor;
  }
}

function deliver(w: CacheWatcher, ev: CacheEvent): void {
  if (w.stopped || !ev.key.startsWith(w.keyPrefix)) return;
  const now = ev.type !== 'DELETED' && w.matches(ev.obj);
  const before = ev.prev !== undefined && w.matches(ev.prev);
  // A selector watch sees an object enter and leave its selection as ADDED and DELETED, like upstream.
  if (ev.type === 'ADDED') {
    if (now) w.onEvent('ADDED', ev);
  } else if (ev.type === 'MODIFIED') {
    if (now && before) w.onEvent('MODIFIED', ev);
    else if (now) w.onEvent('ADDED', ev);
    else if (before) w.onEvent('DELETED', ev);
  } else if (before || (ev.prev === undefined && w.matches(ev.obj))) {
    w.onEvent('DELETED', ev);
  }
}

export class WatchCache {
  private readonly caches = new Map<string, ResourceCache>();
  private storeWatcher: Watcher | undefined;
  private rev = 0;
  private waiters: { rv: number; resolve: () => void }[] = [];
  private progressTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;

  constructor(private readonly store: Store) {}

  /** The revision the cache has caught up to. */
  get revision(): number {
    return this.rev;
  }

  /**
   * Fills the cache. It starts from the state a little in the past (up to PRIME_REVISIONS back, as
   * far as store history reaches) and replays the writes since then through the normal path, so the
   * event window reaches back before this server started: a client watching from a resourceVersion
   * it got from this server's previous run, or from another server, resumes instead of relisting.
   */
  async start(): Promise<void> {
    const current = await this.store.currentRevision();
    let from = Math.max(1, current - PRIME_REVISIONS);
    try {
      await this.fill(from);
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'Compacted')) throw err;
      from = current;
      this.caches.clear();
      await this.fill(from);
    }
    this.rev = from;
    this.watchFrom(from);
    await this.waitFor(current, 30_000);
    // Idle watchers still learn that time moved on (bookmarks); cheap: one pass over watchers.
    this.progressTimer = setInterval(() => this.notifyProgress(), 1000);
    this.progressTimer.unref();
  }

  private async fill(rev: number): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await this.store.list('/registry/', { revision: rev, limit: 5000, startAfter: after });
      for (const kv of page.items) {
        const c = this.cacheFor(kv.key, rev);
        c.objects.set(kv.key, decodeStored(kv));
      }
      if (!page.more || page.items.length === 0) break;
      after = page.items[page.items.length - 1].key;
    }
  }

  private watchFrom(rev: number): void {
    this.storeWatcher = this.store.watch('/registry/', rev, {
      onEvent: (ev) => this.onStoreEvent(ev),
      onError: (err) => {
        // Losing the store watch means the cache can no longer vouch for any revision; fail loudly.
        this.failure = err;
        console.error(`watch cache: store watch failed: ${err.message}`);
      },
    });
  }

  get healthy(): boolean {
    return this.failure === undefined;
  }

  stop(): void {
    this.storeWatcher?.stop();
    if (this.progressTimer) clearInterval(this.progressTimer);
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  /** The cache of one resource (by its key prefix), created empty if nothing was ever stored there. */
  resource(prefix: string): ResourceCache {
    let c = this.caches.get(prefix);
    if (!c) {
      c = new ResourceCache(prefix, this.rev);
      this.caches.set(prefix, c);
    }
    return c;
  }

  private cacheFor(key: string, filledAt: number): ResourceCache {
    const prefix = resourcePrefixOf(key);
    let c = this.caches.get(prefix);
    if (!c) {
      c = new ResourceCache(prefix, filledAt);
      this.caches.set(prefix, c);
    }
    return c;
  }

  private onStoreEvent(ev: WatchEvent): void {
    const c = this.cacheFor(ev.kv.key, this.rev);
    const prev = c.objects.get(ev.kv.key);
    let cached: CacheEvent;
    if (ev.type === 'delete') {
      const d = decodeStored(ev.kv, ev.revision);
      cached = { type: 'DELETED', rv: ev.revision, key: ev.kv.key, obj: d.obj, json: d.json, prev: prev?.obj };
    } else {
      const d = decodeStored(ev.kv);
      cached = { type: prev ? 'MODIFIED' : 'ADDED', rv: ev.revision, key: ev.kv.key, obj: d.obj, json: d.json, prev: prev?.obj };
    }
    this.rev = ev.revision;
    c.apply(cached);
    if (this.waiters.length > 0) this.releaseWaiters();
  }

  private releaseWaiters(): void {
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.rv <= this.rev) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private notifyProgress(): void {
    // Every write lands under /registry/, so rev is current for every resource, even idle ones.
    for (const c of this.caches.values()) {
      for (const w of c.watchers) w.onProgress?.(this.rev);
    }
  }

  /**
   * Waits until the cache has seen revision `rv` (a client may watch from a revision it just got from
   * a consistent read). Upstream answers 504 "Too large resource version" after 3 s; so do we.
   */
  async waitFor(rv: number, timeoutMs = 3000): Promise<void> {
    if (rv <= this.rev) return;
    const current = await this.store.currentRevision();
    if (rv > current) throw errors.tooLargeResourceVersion(rv, current);
    if (rv <= this.rev) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(errors.tooLargeResourceVersion(rv, this.rev));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push({ rv, resolve: done });
    });
  }

  /**
   * Registers a watcher on a resource and replays what it missed: either every event after
   * `afterRv`, or (afterRv undefined) synthetic ADDED events for the current state. Returns the
   * revision the watcher is current at; throws 410 Expired when `afterRv` has left the window.
   */
  watch(prefix: string, spec: CacheWatcherSpec, afterRv: number | undefined): { rv: number; stop(): void } {
    const c = this.resource(prefix);
    const w: CacheWatcher = { ...spec, stopped: false };
    if (afterRv === undefined) {
      for (const o of c.list()) {
        if (o.key.startsWith(spec.keyPrefix) && spec.matches(o.obj)) {
          spec.onEvent('ADDED', { type: 'ADDED', rv: o.rv, key: o.key, obj: o.obj, json: o.json });
        }
      }
    } else {
      const missed = c.eventsAfter(afterRv);
      if (!missed) throw errors.gone(`too old resource version: ${afterRv} (${c.oldestResumable})`);
      for (const ev of missed) deliver(w, ev);
    }
    c.watchers.add(w);
    return {
      rv: this.rev,
      stop: () => {
        w.stopped = true;
        c.watchers.delete(w);
      },
    };
  }
}

/**
 * The garbage collector: honours ownerReferences and the deletion propagation the API server
 * records as finalizers (upstream's pkg/controller/garbagecollector).
 *
 * - Background: a dependent all of whose owners are gone is deleted; a dependent that still has an
 *   owner loses only its references to the gone ones.
 * - Orphan: an owner being deleted with the `orphan` finalizer has its references removed from every
 *   dependent, then loses the finalizer.
 * - Foreground: an owner being deleted with `foregroundDeletion` has its dependents deleted, and
 *   loses the finalizer once no dependent with blockOwnerDeletion is left.
 *
 * A dependency graph is built from watches of every preferred, deletable resource; a work queue of
 * uids drives a level-based reconcile that reads the live object and decides from it and the graph.
 * An owner is only ever declared gone after a live GET says so (absent, or another uid at its name).
 */
import type { KubeObject, OwnerReference } from '../api/types.js';
import type { Client, ResourceRef, WatchHandle } from '../client/interface.js';
import { ApiError } from '../api/errors.js';
import { DependencyGraph, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, groupOf, refNames, type GraphNode, type OwnerLink } from './gc/graph.js';
import { WorkQueue } from '../client/workqueue.js';

const MERGE_PATCH = 'application/merge-patch+json';
/** Upstream's GC needs exactly these verbs of a resource to manage its objects. */
const REQUIRED_VERBS = ['delete', 'list', 'watch'];
/** Attempts at a read-modify-write before the key goes back to the queue with backoff. */
const WRITE_ATTEMPTS = 5;
const ABSENT_CACHE_SIZE = 4096;

export interface GarbageCollectorOptions {
  /** Reconciles running at once (upstream runs 20 delete workers). */
  workers?: number;
  /** How often discovery is read again to pick up new resources (CRDs); 0 turns it off. */
  resyncIntervalMs?: number;
  /** Delay before re-listing a resource whose watch ended; doubles on repeated failures. */
  relistDelayMs?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  log?: (message: string) => void;
}

/** One watched resource: the source every node it delivered points back to. */
interface ResourceWatcher {
  /** group/plural: versions of one resource share one watcher. */
  key: string;
  ref: ResourceRef;
  generation: number;
  handle: WatchHandle | undefined;
  /** Whether a list has been applied to the graph (later lists must remove what is missing). */
  listed: boolean;
  /** Whether the first list attempt finished, successfully or not (for the initial sync). */
  tried: boolean;
  failures: number;
  stopped: boolean;
}

interface KindMapping {
  ref: ResourceRef;
  namespaced: boolean;
}

type Node = GraphNode<ResourceWatcher>;

type OwnerState = 'solid' | 'dangling' | 'waiting' | 'invalid';

type Outcome = 'done' | 'retry';

/** The owner's kind is not served (yet): a CRD may appear, so the key is retried with backoff. */
class UnknownKindError extends Error {}

export class GarbageCollector {
  private readonly graph: DependencyGraph<ResourceWatcher>;
  private readonly queue: WorkQueue;
  private readonly watchers = new Map<string, ResourceWatcher>();
  /** "group/Kind" → served versions, and the preferred one under "". */
  private kinds = new Map<string, Map<string, KindMapping>>();
  /** Owners a live GET found absent; uids never come back, so entries never go stale. */
  private readonly absent = new Map<string, true>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private readonly workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private stopped = false;
  private synced = false;
  private resolveSynced: (() => void) | undefined;
  private readonly opts: Required<Omit<GarbageCollectorOptions, 'log'>>;
  private readonly log: (message: string) => void;

  constructor(
    private readonly client: Client,
    opts: GarbageCollectorOptions = {},
  ) {
    this.opts = {
      workers: opts.workers ?? 8,
      resyncIntervalMs: opts.resyncIntervalMs ?? 30_000,
      relistDelayMs: opts.relistDelayMs ?? 250,
      retryBaseDelayMs: opts.retryBaseDelayMs ?? 20,
      retryMaxDelayMs: opts.retryMaxDelayMs ?? 60_000,
    };
    this.log = opts.log ?? ((m) => console.error(`garbage collector: ${m}`));
    this.queue = new WorkQueue({ baseDelayMs: this.opts.retryBaseDelayMs, maxDelayMs: this.opts.retryMaxDelayMs });
    this.graph = new DependencyGraph<ResourceWatcher>((uid) => this.queue.add(uid));
  }

  /**
   * Starts watching and, once every resource has been listed once, collecting. The promise resolves
   * at that point (or at stop()); it never rejects: failures are retried.
   */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    for (const w of this.watchers.values()) this.stopWatcher(w);
    this.queue.shutDown();
    this.resolveSynced?.();
    await Promise.all(this.workers);
  }

  /** True once every resource has been listed once and the workers run. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Number of nodes in the dependency graph (observed objects and the owners they name). */
  get graphSize(): number {
    return this.graph.size;
  }

  /** Whether a watch has delivered the object with this uid into the graph. */
  hasObserved(uid: string): boolean {
    return this.graph.get(uid)?.observed === true;
  }

  /** True when nothing is queued, waiting for a retry, or being processed. */
  isIdle(): boolean {
    return this.queue.isIdle();
  }

  private async run(): Promise<void> {
    const synced = new Promise<void>((resolve) => (this.resolveSynced = resolve));
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.discover();
        break;
      } catch (err) {
        this.log(`discovery failed: ${(err as Error).message}`);
        await this.sleep(Math.min(this.opts.relistDelayMs * 2 ** attempt, 30_000));
      }
    }
    if (this.stopped) return;
    if (this.opts.resyncIntervalMs > 0) {
      this.resyncTimer = setInterval(() => {
        this.discover().catch((err) => this.log(`discovery failed: ${(err as Error).message}`));
      }, this.opts.resyncIntervalMs);
      this.resyncTimer.unref();
    }
    this.checkSynced();
    await synced;
  }

  // ---- discovery and watches ------------------------------------------------------------------

  private lastRediscovery = 0;

  /**
   * A reference to a kind discovery did not list is most often a CRD created since the last
   * resync: look again now rather than at the next periodic resync (at most once a second).
   */
  private rediscoverSoon(): void {
    const now = Date.now();
    if (this.stopped || now - this.lastRediscovery < 1000) return;
    this.lastRediscovery = now;
    this.discover().catch((err) => this.log(`discovery failed: ${(err as Error).message}`));
  }

  private async discover(): Promise<void> {
    const resources = await this.client.resources();
    if (this.stopped) return;
    const kinds = new Map<string, Map<string, KindMapping>>();
    for (const r of resources) {
      const gk = `${r.ref.group}/${r.kind}`;
      let versions = kinds.get(gk);
      if (!versions) kinds.set(gk, (versions = new Map()));
      const m = { ref: r.ref, namespaced: r.namespaced };
      versions.set(r.ref.version, m);
      if (r.preferred) versions.set('', m);
    }
    this.kinds = kinds;

    const wanted = new Set<string>();
    for (const r of resources) {
      if (!r.preferred || !REQUIRED_VERBS.every((v) => r.verbs.includes(v))) continue;
      const key = `${r.ref.group}/${r.ref.resource}`;
      wanted.add(key);
      const w = this.watchers.get(key);
      if (!w) {
        const nw: ResourceWatcher = { key, ref: r.ref, generation: 0, handle: undefined, listed: false, tried: false, failures: 0, stopped: false };
        this.watchers.set(key, nw);
        void this.runWatcher(nw);
      } else if (w.ref.version !== r.ref.version) {
        // The preferred version moved: same objects, read them through the new version.
        w.ref = r.ref;
        void this.runWatcher(w);
      }
    }
    for (const w of [...this.watchers.values()]) {
      if (wanted.has(w.key)) continue;
      this.stopWatcher(w);
      this.watchers.delete(w.key);
      this.graph.retire(w);
    }
  }

  /** Lists the resource into the graph, then watches it from the list's revision. */
  private async runWatcher(w: ResourceWatcher): Promise<void> {
    const gen = ++w.generation;
    w.handle?.stop();
    w.handle = undefined;
    let list;
    try {
      list = await this.client.list(w.ref, '', { resourceVersion: '0' });
    } catch (err) {
      if (gen !== w.generation || w.stopped) return;
      this.log(`listing ${w.key} failed: ${(err as Error).message}`);
      w.tried = true;
      this.checkSynced();
      this.scheduleRelist(w);
      return;
    }
    if (gen !== w.generation || w.stopped) return;
    this.graph.replace(list.items, w, w.listed);
    w.listed = true;
    w.tried = true;
    w.handle = this.client.watch(w.ref, '', { resourceVersion: list.resourceVersion, allowWatchBookmarks: true }, (type, obj) => {
      if (gen !== w.generation || w.stopped) return;
      switch (type) {
        case 'ADDED':
        case 'MODIFIED':
          w.failures = 0;
          this.graph.observe(obj, w);
          break;
        case 'DELETED':
          w.failures = 0;
          this.graph.observeDeleted(obj, w);
          break;
        case 'ERROR':
          // The watch is over (e.g. 410 Gone): list again, and let the list tell what was missed.
          w.generation++;
          w.handle?.stop();
          w.handle = undefined;
          this.scheduleRelist(w);
          break;
        default:
          break;
      }
    });
    this.checkSynced();
  }

  private scheduleRelist(w: ResourceWatcher): void {
    if (this.stopped || w.stopped) return;
    const delay = Math.min(this.opts.relistDelayMs * 2 ** w.failures, 30_000);
    w.failures++;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!w.stopped && !this.stopped) void this.runWatcher(w);
    }, delay);
    this.timers.add(t);
  }

  private stopWatcher(w: ResourceWatcher): void {
    w.stopped = true;
    w.generation++;
    w.handle?.stop();
    w.handle = undefined;
  }

  /** Workers start only once the graph holds every resource, as upstream waits for its informers. */
  private checkSynced(): void {
    if (this.synced || this.stopped) return;
    for (const w of this.watchers.values()) if (!w.tried) return;
    this.synced = true;
    for (let i = 0; i < this.opts.workers; i++) this.workers.push(this.work());
    this.resolveSynced?.();
  }

  // ---- the work queue -------------------------------------------------------------------------

  private async work(): Promise<void> {
    for (;;) {
      const uid = await this.queue.get();
      if (uid === undefined) return;
      try {
        const outcome = await this.reconcile(uid);
        if (outcome === 'retry') this.queue.addRateLimited(uid);
        else this.queue.forget(uid);
      } catch (err) {
        if (err instanceof UnknownKindError) this.rediscoverSoon();
        else if (!this.stopped) this.log(`${this.describe(uid)}: ${(err as Error).message}`);
        this.queue.addRateLimited(uid);
      } finally {
        this.queue.done(uid);
      }
    }
  }

  private describe(uid: string): string {
    const n = this.graph.get(uid);
    if (!n) return uid;
    return `${n.kind} ${n.namespace ? n.namespace + '/' : ''}${n.name} (${uid})`;
  }

  /** Looks at one uid and does what its state and its owners' states call for. Level-based. */
  async reconcile(uid: string): Promise<Outcome> {
    const node = this.graph.get(uid);
    if (!node) return 'done';
    if (!node.observed) return this.verifyVirtual(node);

    const latest = await this.getLive(node.source!.ref, node.namespace, node.name);
    if (!latest || latest.metadata?.uid !== uid) {
      // Gone before its watch said so: treat it as deleted now; the watch's event will find nothing.
      this.graph.remove(node);
      return 'done';
    }
    const meta = latest.metadata!;
    if (meta.deletionTimestamp) {
      const finalizers = meta.finalizers ?? [];
      let current = latest;
      if (finalizers.includes(FINALIZER_ORPHAN)) {
        await this.orphanDependents(node);
        current = (await this.removeFinalizer(node, current, FINALIZER_ORPHAN)) ?? current;
      }
      if (finalizers.includes(FINALIZER_FOREGROUND)) await this.processDeletingDependents(node, current);
      // Otherwise it is on its one-way trip to deletion; its dependents are handled when it is gone.
      return 'done';
    }

    const refs = (meta.ownerReferences ?? []).filter((r) => r && typeof r.uid === 'string' && r.uid !== '');
    if (refs.length === 0) return 'done';
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of refs) {
      const state = await this.ownerState(node, ref);
      if (state === 'invalid') {
        // A cluster-scoped object naming a namespaced owner: retrying cannot resolve it (upstream).
        this.log(`${this.describe(uid)} is cluster-scoped but names a namespaced owner ${ref.kind} ${ref.name}; leaving it alone`);
        return 'done';
      }
      (state === 'solid' ? solid : state === 'dangling' ? dangling : waiting).push(ref);
    }

    if (solid.length > 0) {
      if (dangling.length === 0 && waiting.length === 0) return 'done';
      // References to owners waiting on their dependents go too, or those owners would wait forever.
      const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
      await this.editOwnerRefs(node, latest, (cur) => {
        const keep = cur.filter((r) => !drop.has(r.uid));
        return keep.length === cur.length ? undefined : keep;
      });
      return 'done';
    }

    if (waiting.length > 0 && (node.dependents?.size ?? 0) > 0) {
      let current = latest;
      for (const dep of node.dependents!) {
        if (!dep.deletingDependents) continue;
        // This object and one of its dependents both wait on dependents: a possible cycle. Stop
        // blocking our owners before waiting ourselves (upstream's heuristic, with its false positives).
        current =
          (await this.editOwnerRefs(node, current, (cur) =>
            cur.some((r) => r.blockOwnerDeletion === true) ? cur.map((r) => (r.blockOwnerDeletion === true ? { ...r, blockOwnerDeletion: false } : r)) : undefined,
          )) ?? current;
        break;
      }
      return this.deleteObject(node, current, 'Foreground');
    }

    const finalizers = meta.finalizers ?? [];
    const policy = finalizers.includes(FINALIZER_ORPHAN) ? 'Orphan' : finalizers.includes(FINALIZER_FOREGROUND) ? 'Foreground' : 'Background';
    return this.deleteObject(node, latest, policy);
  }

  /**
   * A virtual node: some dependent names this uid but no watch has delivered it. Ask the server
   * whether it exists under the coordinates the node carries.
   */
  private async verifyVirtual(node: Node): Promise<Outcome> {
    const m = this.mapping(node.apiVersion, node.kind);
    if (!m) throw new UnknownKindError(`unknown kind ${node.kind} in ${node.apiVersion}`);
    let exists = false;
    if (!m.namespaced || node.namespace !== '') {
      const obj = await this.getLive(m.ref, m.namespaced ? node.namespace : '', node.name);
      exists = obj?.metadata?.uid === node.uid;
    }
    if (this.graph.get(node.uid) !== node || node.observed) return 'done';
    if (exists) {
      // It exists but its watch has not delivered it yet. Look again later: if it is deleted before
      // the watch delivers it (say, across a re-list), nothing else would tell its dependents.
      return 'retry';
    }
    const identity = { apiVersion: node.apiVersion, kind: node.kind, name: node.name, namespace: node.namespace };
    this.rememberAbsent(node.uid, identity.apiVersion, identity.kind, m.namespaced ? identity.namespace : '', identity.name);
    const others = this.graph.virtualAbsent(node, (dep) => {
      const ref = dep.refTo(node.uid);
      return (
        !!ref &&
        groupOf(ref.apiVersion) === groupOf(identity.apiVersion) &&
        ref.kind === identity.kind &&
        ref.name === identity.name &&
        (!m.namespaced || dep.namespace === identity.namespace)
      );
    });
    return others ? 'retry' : 'done';
  }

  /** Whether the owner `ref` of `node` is there, gone, or waiting for its dependents' deletion. */
  private async ownerState(node: Node, ref: OwnerReference): Promise<OwnerState> {
    const m = this.mapping(ref.apiVersion, ref.kind);
    if (!m) throw new UnknownKindError(`unknown owner kind ${ref.kind} in ${ref.apiVersion}`);
    if (m.namespaced && node.namespace === '') return 'invalid';
    const owner = this.graph.get(ref.uid);
    const link: OwnerLink = { uid: ref.uid, apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, block: ref.blockOwnerDeletion === true };
    if (owner?.observed && refNames(owner, owner.namespace !== '', link, node.namespace)) {
      // Presence from the graph is safe: if the owner is gone, its deletion event re-queues us.
      return owner.deletingDependents ? 'waiting' : 'solid';
    }
    const namespace = m.namespaced ? node.namespace : '';
    if (this.isAbsent(ref.uid, ref.apiVersion, ref.kind, namespace, ref.name)) return 'dangling';
    const live = await this.getLive(m.ref, namespace, ref.name);
    if (!live || live.metadata?.uid !== ref.uid) {
      this.rememberAbsent(ref.uid, ref.apiVersion, ref.kind, namespace, ref.name);
      return 'dangling';
    }
    const lm = live.metadata!;
    return lm.deletionTimestamp && (lm.finalizers ?? []).includes(FINALIZER_FOREGROUND) ? 'waiting' : 'solid';
  }

  /** Removes the owner's references from every dependent the graph knows of. */
  private async orphanDependents(owner: Node): Promise<void> {
    const dependents = [...(owner.dependents ?? [])];
    const failures: string[] = [];
    await eachLimit(dependents, 16, async (dep) => {
      try {
        if (!dep.observed || !dep.source) return;
        const latest = await this.getLive(dep.source.ref, dep.namespace, dep.name);
        if (!latest || latest.metadata?.uid !== dep.uid) return;
        await this.editOwnerRefs(dep, latest, (cur) => {
          const keep = cur.filter((r) => r.uid !== owner.uid);
          return keep.length === cur.length ? undefined : keep;
        });
      } catch (err) {
        failures.push(`${dep.kind} ${dep.name}: ${(err as Error).message}`);
      }
    });
    if (failures.length > 0) throw new Error(`orphaning dependents failed: ${failures.slice(0, 3).join('; ')}`);
  }

  /** The owner may go once no dependent that blocks owner deletion is left (upstream waits for no other). */
  private async processDeletingDependents(owner: Node, latest: KubeObject): Promise<void> {
    let blocked = false;
    for (const { dependent, ref } of this.graph.dependentsOf(owner)) {
      if (ref.block) blocked = true;
      // Dependents that are not on their way out yet (a failed delete, one added late) get another look.
      if (!dependent.beingDeleted) this.queue.add(dependent.uid);
    }
    if (!blocked) await this.removeFinalizer(owner, latest, FINALIZER_FOREGROUND);
  }

  // ---- writes ---------------------------------------------------------------------------------

  /**
   * Deletes a dependent, provided it is still the object we looked at (uid and resourceVersion).
   * If it changed in between but not in its ownerReferences, the decision still holds.
   */
  private async deleteObject(node: Node, latest: KubeObject, policy: 'Orphan' | 'Background' | 'Foreground'): Promise<Outcome> {
    const ref = node.source!.ref;
    try {
      await this.client.delete(ref, node.namespace, node.name, {
        propagationPolicy: policy,
        preconditions: { uid: node.uid, resourceVersion: latest.metadata?.resourceVersion },
      });
      return 'done';
    } catch (err) {
      if (isCode(err, 404)) return 'done';
      if (!isCode(err, 409)) throw err;
    }
    const now = await this.getLive(ref, node.namespace, node.name);
    if (!now || now.metadata?.uid !== node.uid) return 'done';
    if (JSON.stringify(now.metadata?.ownerReferences ?? []) !== JSON.stringify(latest.metadata?.ownerReferences ?? [])) return 'retry';
    try {
      await this.client.delete(ref, node.namespace, node.name, { propagationPolicy: policy, preconditions: { uid: node.uid } });
    } catch (err) {
      if (!isCode(err, 404)) throw err;
    }
    return 'done';
  }

  /**
   * Read-modify-write of an object's ownerReferences with its resourceVersion as precondition.
   * `edit` returns undefined when there is nothing to change. Returns the written object.
   */
  private async editOwnerRefs(node: Node, latest: KubeObject, edit: (refs: OwnerReference[]) => OwnerReference[] | undefined): Promise<KubeObject | undefined> {
    return this.writeMeta(node, latest, (meta) => {
      const next = edit(meta.ownerReferences ?? []);
      return next === undefined ? undefined : { ownerReferences: next.length > 0 ? next : null };
    });
  }

  private async removeFinalizer(node: Node, latest: KubeObject, finalizer: string): Promise<KubeObject | undefined> {
    return this.writeMeta(node, latest, (meta) => {
      const cur = meta.finalizers ?? [];
      if (!cur.includes(finalizer)) return undefined;
      const rest = cur.filter((f) => f !== finalizer);
      return { finalizers: rest.length > 0 ? rest : null };
    });
  }

  private async writeMeta(node: Node, latest: KubeObject, change: (meta: NonNullable<KubeObject['metadata']>) => Record<string, unknown> | undefined): Promise<KubeObject | undefined> {
    const ref = node.source!.ref;
    let current: KubeObject = latest;
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const meta = current.metadata ?? {};
      const patch = change(meta);
      if (patch === undefined) return current;
      try {
        return await this.client.patch(ref, node.namespace, node.name, MERGE_PATCH, { metadata: { resourceVersion: meta.resourceVersion, ...patch } });
      } catch (err) {
        if (isCode(err, 404)) return undefined;
        if (!isCode(err, 409)) throw err;
      }
      const fresh = await this.getLive(ref, node.namespace, node.name);
      if (!fresh || fresh.metadata?.uid !== node.uid) return undefined;
      current = fresh;
    }
    throw new Error(`${node.kind} ${node.name}: still conflicting after ${WRITE_ATTEMPTS} attempts`);
  }

  // ---- reads and lookups ----------------------------------------------------------------------

  private async getLive(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.client.get(ref, namespace, name);
    } catch (err) {
      if (isCode(err, 404)) return undefined;
      throw err;
    }
  }

  /** The resource serving apiVersion/kind: that exact version if served, else the group's preferred one. */
  private mapping(apiVersion: string, kind: string): KindMapping | undefined {
    const versions = this.kinds.get(`${groupOf(apiVersion)}/${kind}`);
    if (!versions) return undefined;
    const slash = apiVersion.indexOf('/');
    return versions.get(slash === -1 ? apiVersion : apiVersion.slice(slash + 1)) ?? versions.get('');
  }

  private absentKey(uid: string, apiVersion: string, kind: string, namespace: string, name: string): string {
    return `${uid}|${groupOf(apiVersion)}|${kind}|${namespace}|${name}`;
  }

  private isAbsent(uid: string, apiVersion: string, kind: string, namespace: string, name: string): boolean {
    const k = this.absentKey(uid, apiVersion, kind, namespace, name);
    if (!this.absent.has(k)) return false;
    // Refresh its place: recently useful entries stay.
    this.absent.delete(k);
    this.absent.set(k, true);
    return true;
  }

  private rememberAbsent(uid: string, apiVersion: string, kind: string, namespace: string, name: string): void {
    this.absent.set(this.absentKey(uid, apiVersion, kind, namespace, name), true);
    if (this.absent.size > ABSENT_CACHE_SIZE) this.absent.delete(this.absent.keys().next().value as string);
  }

  /** Waits `ms`, or less if the collector stops meanwhile. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.sleepers.delete(resolve);
        resolve();
      }, ms);
      this.timers.add(t);
      this.sleepers.add(resolve);
    });
  }
}

function isCode(err: unknown, code: number): boolean {
  return err instanceof ApiError && err.code === code;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeObject, OwnerReference } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { ApiServer } from '../apiserver/server.js';
import { InProcessClient } from '../client/in-process.js';
import type { Client, DeleteOptions, ListOptions, PatchType, ResourceRef, WatchEventType, WatchHandle, WatchOptions, WriteOptions } from '../client/interface.js';
import { openSqliteStore } from '../storage/sqlite.js';
import type { Store } from '../storage/store.js';
import { GarbageCollector } from './garbage-collector.js';
import { ensureSystemNamespaces } from './bootstrap.js';

const CM: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const NS = 'default';

/**
 * The in-process client with two test levers: count the writes that go through it, and end every
 * open watch with an ERROR (as a 410 from the server would).
 */
class ProbeClient implements Client {
  writes = 0;
  private readonly open = new Set<{ inner: WatchHandle; onEvent: (type: WatchEventType, obj: KubeObject) => void }>();

  constructor(private readonly inner: Client) {}

  get(ref: ResourceRef, namespace: string, name: string) {
    return this.inner.get(ref, namespace, name);
  }
  list(ref: ResourceRef, namespace: string, opts?: ListOptions) {
    return this.inner.list(ref, namespace, opts);
  }
  create(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    this.writes++;
    return this.inner.create(ref, namespace, obj, opts);
  }
  update(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    this.writes++;
    return this.inner.update(ref, namespace, obj, opts);
  }
  patch(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, opts?: WriteOptions) {
    this.writes++;
    return this.inner.patch(ref, namespace, name, type, patch, opts);
  }
  delete(ref: ResourceRef, namespace: string, name: string, opts?: DeleteOptions) {
    this.writes++;
    return this.inner.delete(ref, namespace, name, opts);
  }
  resources() {
    return this.inner.resources();
  }
  watch(ref: ResourceRef, namespace: string, opts: WatchOptions, onEvent: (type: WatchEventType, obj: KubeObject) => void): WatchHandle {
    const entry = { inner: this.inner.watch(ref, namespace, opts, onEvent), onEvent };
    this.open.add(entry);
    return {
      stop: () => {
        this.open.delete(entry);
        entry.inner.stop();
      },
    };
  }

  /** Ends every open watch with 410 Expired, the way a compacted watch ends. */
  breakWatches(): number {
    const gone = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' };
    const n = this.open.size;
    for (const e of [...this.open]) {
      this.open.delete(e);
      e.inner.stop();
      e.onEvent('ERROR', gone as unknown as KubeObject);
    }
    return n;
  }
}

interface World {
  dir: string;
  store: Store;
  server: ApiServer;
  client: InProcessClient;
  probe: ProbeClient;
  gc: GarbageCollector;
}

async function startWorld(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-gc-'));
  const store = await openSqliteStore(join(dir, 'state.db'));
  const server = new ApiServer({ store });
  await server.start();
  const client = new InProcessClient(server);
  await ensureSystemNamespaces(client);
  const probe = new ProbeClient(client);
  const gc = new GarbageCollector(probe, { resyncIntervalMs: 0, relistDelayMs: 20, retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
  await gc.start();
  return { dir, store, server, client, probe, gc };
}

async function stopWorld(w: World): Promise<void> {
  await w.gc.stop();
  await w.server.close();
  await w.store.close();
  await rm(w.dir, { recursive: true, force: true });
}

/** Polls `check` until it returns something truthy; bounded by attempts, not by the clock. */
async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>, attempts = 400): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function tryGet(client: Client, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(CM, NS, name);
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

async function gone(client: Client, name: string): Promise<boolean> {
  return (await tryGet(client, name)) === undefined;
}

function refTo(owner: KubeObject, block?: boolean): OwnerReference {
  const r: OwnerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata!.name!, uid: owner.metadata!.uid! };
  if (block !== undefined) r.blockOwnerDeletion = block;
  return r;
}

async function configMap(client: Client, name: string, ownerReferences?: OwnerReference[], finalizers?: string[]): Promise<KubeObject> {
  const metadata: KubeObject['metadata'] = { name };
  if (ownerReferences) metadata.ownerReferences = ownerReferences;
  if (finalizers) metadata.finalizers = finalizers;
  return client.create(CM, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { k: name } });
}

async function dropFinalizers(client: Client, name: string): Promise<void> {
  await client.patch(CM, NS, name, 'application/merge-patch+json', { metadata: { finalizers: null } });
}

describe('garbage collector', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    await stopWorld(w);
  });

  it('background deletion collects the dependents of a deleted owner', async () => {
    const owner = await configMap(w.client, 'bg-owner');
    await configMap(w.client, 'bg-dep-1', [refTo(owner)]);
    await configMap(w.client, 'bg-dep-2', [refTo(owner, true)]);
    await w.client.delete(CM, NS, 'bg-owner', { propagationPolicy: 'Background' });
    await eventually('both dependents to be collected', async () => (await gone(w.client, 'bg-dep-1')) && (await gone(w.client, 'bg-dep-2')));
  });

  it('orphan deletion strips the owner references, then lets the owner go', async () => {
    const owner = await configMap(w.client, 'or-owner');
    await configMap(w.client, 'or-dep-1', [refTo(owner)]);
    await configMap(w.client, 'or-dep-2', [refTo(owner, true)]);
    await w.client.delete(CM, NS, 'or-owner', { propagationPolicy: 'Orphan' });
    await eventually('the owner to go', () => gone(w.client, 'or-owner'));
    for (const name of ['or-dep-1', 'or-dep-2']) {
      const dep = await tryGet(w.client, name);
      assert.ok(dep, `${name} survives`);
      assert.equal(dep.metadata?.ownerReferences, undefined, `${name} has no ownerReferences left`);
      assert.equal(dep.metadata?.deletionTimestamp, undefined);
    }
  });

  it('foreground deletion keeps the owner until its blocking dependents are gone', async () => {
    const owner = await configMap(w.client, 'fg-owner');
    // A blocking dependent held by a finalizer keeps the owner waiting; a non-blocking one does not.
    await configMap(w.client, 'fg-held-blocking', [refTo(owner, true)], ['example.com/hold']);
    await configMap(w.client, 'fg-held-plain', [refTo(owner)], ['example.com/hold']);
    await configMap(w.client, 'fg-blocking', [refTo(owner, true)]);
    await w.client.delete(CM, NS, 'fg-owner', { propagationPolicy: 'Foreground' });

    await eventually('every dependent to be deleted', async () => {
      const held = await tryGet(w.client, 'fg-held-blocking');
      const plain = await tryGet(w.client, 'fg-held-plain');
      return held?.metadata?.deletionTimestamp && plain?.metadata?.deletionTimestamp && (await gone(w.client, 'fg-blocking'));
    });
    const waiting = await tryGet(w.client, 'fg-owner');
    assert.ok(waiting, 'the owner waits for its blocking dependent');
    assert.ok(waiting.metadata?.deletionTimestamp);
    assert.deepEqual(waiting.metadata?.finalizers, ['foregroundDeletion']);

    await dropFinalizers(w.client, 'fg-held-blocking');
    await eventually('the owner to go', () => gone(w.client, 'fg-owner'));
    // The non-blocking dependent was deleted but not waited for.
    const plain = await tryGet(w.client, 'fg-held-plain');
    assert.ok(plain?.metadata?.deletionTimestamp, 'the non-blocking dependent is still finishing its deletion');
    await dropFinalizers(w.client, 'fg-held-plain');
    await eventually('the non-blocking dependent to go', () => gone(w.client, 'fg-held-plain'));
  });

  it('foreground deletion cascades through a dependent that has blocking dependents of its own', async () => {
    const owner = await configMap(w.client, 'chain-owner');
    const middle = await configMap(w.client, 'chain-middle', [refTo(owner, true)]);
    await configMap(w.client, 'chain-leaf', [refTo(middle, true)], ['example.com/hold']);
    await w.client.delete(CM, NS, 'chain-owner', { propagationPolicy: 'Foreground' });

    const mid = await eventually('the middle object to be deleted in the foreground', async () => {
      const m = await tryGet(w.client, 'chain-middle');
      const leaf = await tryGet(w.client, 'chain-leaf');
      return m?.metadata?.deletionTimestamp && leaf?.metadata?.deletionTimestamp ? m : undefined;
    });
    assert.deepEqual(mid.metadata?.finalizers, ['foregroundDeletion']);
    assert.ok(await tryGet(w.client, 'chain-owner'), 'the owner waits for the chain');

    await dropFinalizers(w.client, 'chain-leaf');
    await eventually('the whole chain to go', async () => (await gone(w.client, 'chain-owner')) && (await gone(w.client, 'chain-middle')) && (await gone(w.client, 'chain-leaf')));
  });

  it('a dependent with two owners survives the deletion of one and loses its reference to it', async () => {
    const a = await configMap(w.client, 'two-owner-a');
    const b = await configMap(w.client, 'two-owner-b');
    await configMap(w.client, 'two-dep', [refTo(a), refTo(b)]);
    await w.client.delete(CM, NS, 'two-owner-a', { propagationPolicy: 'Background' });
    const dep = await eventually('the reference to the deleted owner to be removed', async () => {
      const d = await tryGet(w.client, 'two-dep');
      assert.ok(d, 'the dependent survives');
      return d.metadata?.ownerReferences?.length === 1 ? d : undefined;
    });
    assert.deepEqual(dep.metadata?.ownerReferences, [refTo(b)]);
    assert.equal(dep.metadata?.deletionTimestamp, undefined);
    await w.client.delete(CM, NS, 'two-owner-b');
    await eventually('the dependent to go with its last owner', () => gone(w.client, 'two-dep'));
  });

  it('collects a dependent whose owner uid never existed', async () => {
    const bystander = await configMap(w.client, 'ghost-bystander');
    await configMap(w.client, 'ghost-dep', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: randomUUID() }]);
    // The name exists, but as another object: the owner is just as absent.
    await configMap(w.client, 'ghost-dep-named', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost-bystander', uid: randomUUID() }]);
    await eventually('dependents of absent owners to be collected', async () => (await gone(w.client, 'ghost-dep')) && (await gone(w.client, 'ghost-dep-named')));
    const still = await tryGet(w.client, 'ghost-bystander');
    assert.equal(still?.metadata?.uid, bystander.metadata?.uid, 'the object that only shares the name is untouched');
  });

  it('recovers from a watch ERROR by listing again, noticing deletions it missed', async () => {
    const owner = await configMap(w.client, 'relist-owner');
    const dep = await configMap(w.client, 'relist-dep', [refTo(owner)]);
    await eventually('the graph to hold both objects', async () => w.gc.hasObserved(owner.metadata!.uid!) && w.gc.hasObserved(dep.metadata!.uid!));
    assert.ok(w.probe.breakWatches() > 0);
    // Deleted while the collector has no watch: only the re-list can tell it.
    await w.client.delete(CM, NS, 'relist-owner');
    await eventually('the dependent to be collected after the re-list', () => gone(w.client, 'relist-dep'));
    // The watches are back: a later deletion is seen as usual.
    const owner2 = await configMap(w.client, 'relist-owner-2');
    await configMap(w.client, 'relist-dep-2', [refTo(owner2)]);
    await w.client.delete(CM, NS, 'relist-owner-2');
    await eventually('the dependent to be collected through the new watch', () => gone(w.client, 'relist-dep-2'));
  });

  it('is level-based: a second collector over a settled world writes nothing', async () => {
    const owner = await configMap(w.client, 'level-owner');
    const other = await configMap(w.client, 'level-other');
    await configMap(w.client, 'level-dep', [refTo(owner, true)]);
    await configMap(w.client, 'level-dep-2', [refTo(owner), refTo(other)]);
    await eventually('the first collector to settle', async () => w.gc.isIdle());

    const probe = new ProbeClient(w.client);
    const second = new GarbageCollector(probe, { resyncIntervalMs: 0 });
    try {
      await second.start();
      await eventually('the second collector to settle', async () => second.isIdle());
      const { items } = await w.client.list(CM, NS);
      for (const item of items) assert.equal(await second.reconcile(item.metadata!.uid!), 'done');
      assert.equal(probe.writes, 0);
    } finally {
      await second.stop();
    }
  });
});

describe('garbage collector start-up', () => {
  it('collects dependents whose owners were deleted while it was not running', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-gc-'));
    const store = await openSqliteStore(join(dir, 'state.db'));
    const server = new ApiServer({ store });
    await server.start();
    const client = new InProcessClient(server);
    let gc: GarbageCollector | undefined;
    try {
      await ensureSystemNamespaces(client);
      const owner = await configMap(client, 'late-owner');
      await configMap(client, 'late-dep', [refTo(owner)]);
      const keeper = await configMap(client, 'late-keeper');
      await configMap(client, 'late-kept', [refTo(keeper)]);
      await client.delete(CM, NS, 'late-owner');
      gc = new GarbageCollector(client, { resyncIntervalMs: 0, retryBaseDelayMs: 5 });
      await gc.start();
      assert.ok(gc.hasSynced());
      await eventually('the orphaned dependent to be collected', () => gone(client, 'late-dep'));
      await eventually('the collector to settle', async () => gc!.isIdle());
      assert.ok(await tryGet(client, 'late-kept'), 'a dependent of a live owner stays');
    } finally {
      await gc?.stop();
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { InProcessClient } from './in-process.js';
import { startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { Informer } from './informer.js';
import type { Client, ResourceRef, WatchEventType, WatchHandle, WatchOptions } from './interface.js';

const CM: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const NS = 'default';

function cm(name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels }, data };
}

/** Polls `check` until it is true; bounded by attempts, not by the clock. */
async function eventually(what: string, check: () => boolean, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Records what an informer's handlers saw. */
function recorder(inf: Informer) {
  const events: string[] = [];
  inf.onAdd((o) => events.push(`add ${o.metadata!.name}`));
  inf.onUpdate((o, n) => events.push(`update ${n.metadata!.name} ${o.metadata!.resourceVersion}->${n.metadata!.resourceVersion}`));
  inf.onDelete((o) => events.push(`delete ${o.metadata!.name}`));
  return events;
}

const EXPIRED = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version' };

/**
 * The client whose first watch is held until `release()`, then ends with an ERROR (by default
 * 410 Expired, as a compacted watch would); every watch after it goes to the real client.
 */
class ExpiringClient {
  watches = 0;
  lists = 0;
  private releaseFirst: () => void = () => {};
  readonly firstWatchOpen: Promise<void>;
  private opened: () => void = () => {};

  constructor(
    private readonly inner: Client,
    private readonly status: KubeObject = EXPIRED,
  ) {
    this.firstWatchOpen = new Promise((r) => (this.opened = r));
  }

  client(): Client {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop === 'list') this.lists++;
        if (prop !== 'watch') {
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        }
        return (ref: ResourceRef, ns: string, opts: WatchOptions, onEvent: (t: WatchEventType, o: KubeObject) => void): WatchHandle => {
          this.watches++;
          if (this.watches > 1) return target.watch(ref, ns, opts, onEvent);
          let stopped = false;
          new Promise<void>((r) => (this.releaseFirst = r)).then(() => {
            if (!stopped) onEvent('ERROR', this.status);
          });
          this.opened();
          return { stop: () => (stopped = true) };
        };
      },
    });
  }

  release(): void {
    this.releaseFirst();
  }
}

describe('Informer', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  const informers: Informer[] = [];

  before(async () => {
    cluster = await startInProcessCluster('informer');
    client = cluster.client;
  });

  after(async () => {
    for (const inf of informers) inf.stop();
    await cluster.stop();
  });

  it('syncs the initial list, in pages, into the store', async () => {
    for (let i = 0; i < 5; i++) await client.create(CM, NS, cm(`initial-${i}`, { set: 'initial' }));
    const counting = new ExpiringClient(client);
    const inf = new Informer(counting.client(), CM, NS, { labelSelector: 'set=initial', pageSize: 2 });
    informers.push(inf);
    const events = recorder(inf);
    assert.equal(inf.hasSynced(), false);
    inf.start();
    assert.equal(await inf.waitForSync(), true);
    assert.equal(inf.hasSynced(), true);
    assert.equal(inf.list().length, 5);
    assert.equal(counting.lists, 3, 'five objects in pages of two');
    assert.deepEqual(events.sort(), [0, 1, 2, 3, 4].map((i) => `add initial-${i}`));
    assert.equal(inf.get(`${NS}/initial-3`)?.metadata?.name, 'initial-3');
    assert.equal(inf.listByNamespace(NS).length, 5);
    assert.equal(inf.listByNamespace('kube-system').length, 0);
    assert.ok(Object.isFrozen(inf.get(`${NS}/initial-0`)), 'store objects are shared and frozen');
    inf.stop();
  });

  it('keys cluster-scoped objects by name', async () => {
    const inf = new Informer(client, { group: '', version: 'v1', resource: 'namespaces' });
    informers.push(inf);
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.get('kube-system')?.metadata?.name, 'kube-system');
    inf.stop();
    assert.equal(await inf.waitForSync(), true);
  });

  it('calls add, update and delete handlers from the watch, and keeps a label index', async () => {
    const inf = new Informer(client, CM, NS, { labelSelector: 'suite=watch' });
    informers.push(inf);
    inf.addIndexer('byApp', (o) => (o.metadata?.labels?.app ? [o.metadata.labels.app] : []));
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    assert.deepEqual(events, []);

    const a = await client.create(CM, NS, cm('w-a', { suite: 'watch', app: 'web' }));
    await client.create(CM, NS, cm('w-b', { suite: 'watch', app: 'web' }));
    await client.create(CM, NS, cm('w-c', { suite: 'watch', app: 'db' }));
    await eventually('three adds', () => inf.list().length === 3);
    assert.deepEqual(events, ['add w-a', 'add w-b', 'add w-c']);
    assert.deepEqual(inf.byIndex('byApp', 'web').map((o) => o.metadata!.name).sort(), ['w-a', 'w-b']);
    assert.deepEqual(inf.byIndex('byApp', 'db').map((o) => o.metadata!.name), ['w-c']);

    const updated = await client.update(CM, NS, { ...a, metadata: { ...a.metadata, labels: { suite: 'watch', app: 'db' } } });
    await eventually('the update', () => inf.get(`${NS}/w-a`)?.metadata?.resourceVersion === updated.metadata!.resourceVersion);
    assert.equal(events.at(-1), `update w-a ${a.metadata!.resourceVersion}->${updated.metadata!.resourceVersion}`);
    assert.deepEqual(inf.byIndex('byApp', 'web').map((o) => o.metadata!.name), ['w-b']);
    assert.deepEqual(inf.byIndex('byApp', 'db').map((o) => o.metadata!.name).sort(), ['w-a', 'w-c']);

    await client.delete(CM, NS, 'w-b');
    await eventually('the delete', () => inf.get(`${NS}/w-b`) === undefined);
    assert.equal(events.at(-1), 'delete w-b');
    assert.deepEqual(inf.byIndex('byApp', 'web'), []);
    assert.throws(() => inf.byIndex('nope', 'x'));

    // A handler added late hears about what is already there.
    const late: string[] = [];
    inf.onAdd((o) => late.push(o.metadata!.name!));
    assert.deepEqual(late.sort(), ['w-a', 'w-c']);
    inf.stop();
  });

  it('relists after a 410 and emits what changed meanwhile', async () => {
    const kept = await client.create(CM, NS, cm('r-kept', { suite: 'relist' }));
    await client.create(CM, NS, cm('r-gone', { suite: 'relist' }));
    await client.create(CM, NS, cm('r-same', { suite: 'relist' }));
    const expiring = new ExpiringClient(client);
    const inf = new Informer(expiring.client(), CM, NS, { labelSelector: 'suite=relist', backoffBaseMs: 1, backoffMaxMs: 10 });
    informers.push(inf);
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    await expiring.firstWatchOpen;
    assert.deepEqual(events.sort(), ['add r-gone', 'add r-kept', 'add r-same']);
    events.length = 0;

    // While the informer's watch is blind, the world changes.
    await client.delete(CM, NS, 'r-gone');
    const changed = await client.update(CM, NS, { ...kept, data: { v: '2' } });
    await client.create(CM, NS, cm('r-new', { suite: 'relist' }));
    expiring.release();

    await eventually('the relist', () => events.length === 3);
    assert.deepEqual(events.sort(), ['add r-new', 'delete r-gone', `update r-kept ${kept.metadata!.resourceVersion}->${changed.metadata!.resourceVersion}`]);
    assert.deepEqual(inf.listKeys().sort(), [`${NS}/r-kept`, `${NS}/r-new`, `${NS}/r-same`]);

    // The watch after the relist works.
    await client.delete(CM, NS, 'r-same');
    await eventually('the delete after the relist', () => events.includes('delete r-same'));
    assert.ok(expiring.watches >= 2);
    inf.stop();
  });

  it('resumes the watch from the last resourceVersion after another error, without a relist', async () => {
    await client.create(CM, NS, cm('x-first', { suite: 'resume' }));
    const failing = new ExpiringClient(client, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, reason: 'InternalError' });
    const inf = new Informer(failing.client(), CM, NS, { labelSelector: 'suite=resume', backoffBaseMs: 1, backoffMaxMs: 10 });
    informers.push(inf);
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    await failing.firstWatchOpen;
    const listsAfterSync = failing.lists;
    await client.create(CM, NS, cm('x-second', { suite: 'resume' }));
    failing.release();
    await eventually('the missed add, from the resumed watch', () => events.includes('add x-second'));
    assert.equal(failing.lists, listsAfterSync, 'no relist');
    assert.deepEqual(events, ['add x-first', 'add x-second']);
    inf.stop();
  });
});

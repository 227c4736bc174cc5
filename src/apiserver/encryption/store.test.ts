import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { startEtcd, type EtcdProcess } from '../../../test/harness/etcd.js';
import { ApiError } from '../../api/errors.js';
import { InProcessClient } from '../../client/in-process.js';
import { ensureSystemNamespaces } from '../../controllers/bootstrap.js';
import { openEtcdStore, openSqliteStore, type Store } from '../../storage/index.js';
import { ApiServer } from '../server.js';
import { parseEncryptionConfiguration } from './config.js';
import { rewriteResources } from './rewrite.js';
import { EncryptingStore } from './store.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };
const CONFIGMAPS = { group: '', version: 'v1', resource: 'configmaps' };
const MARKER = 'correct-horse-battery-staple';
const key1 = randomBytes(32).toString('base64');
const key2 = randomBytes(32).toString('base64');

function config(providers: string): string {
  return `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
${providers}`;
}
const only = (name: string, secret: string) => `      - aesgcm: {keys: [{name: ${name}, secret: ${secret}}]}\n`;
const IDENTITY = '      - identity: {}\n';

async function serve(store: Store, cfg: string | undefined) {
  const wrapped = cfg === undefined ? store : new EncryptingStore(store, parseEncryptionConfiguration(cfg));
  const server = new ApiServer({ store: wrapped });
  await server.start();
  const client = new InProcessClient(server);
  await ensureSystemNamespaces(client);
  return { server, client, stop: () => server.close() };
}

const secret = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { password: `${MARKER}-${name}` } });

/** Every byte of the SQLite database and its WAL. */
async function sqliteBytes(dir: string): Promise<Buffer> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('state.db'));
  return Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f)))));
}

describe('encryption at rest', () => {
  const dirs: string[] = [];
  let etcd: EtcdProcess | undefined;
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await etcd?.stop();
  });

  async function sqliteDir() {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-encryption-'));
    dirs.push(dir);
    return dir;
  }

  it('the SQLite file holds no plaintext of encrypted resources, and reads and watches see plaintext', async () => {
    const dir = await sqliteDir();
    const store = await openSqliteStore(join(dir, 'state.db'));
    const s = await serve(store, config(only('key1', key1) + IDENTITY));
    try {
      const seen: string[] = [];
      const w = s.client.watch(SECRETS, 'default', { resourceVersion: '0' }, (type, obj) => {
        if (type !== 'BOOKMARK') seen.push(String((obj as { data?: { password?: string } }).data?.password));
      });
      await s.client.create(SECRETS, 'default', secret('s1'));
      await s.client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { v: `${MARKER}-cm` } });
      const got = await s.client.get(SECRETS, 'default', 's1');
      assert.equal(Buffer.from(String(got.data?.password), 'base64').toString(), `${MARKER}-s1`);
      const listed = await s.client.list(SECRETS, 'default');
      assert.equal(listed.items.length, 1);
      for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      w.stop();
      assert.deepEqual(seen, [Buffer.from(`${MARKER}-s1`).toString('base64')]);
      const raw = await store.get('/registry/secrets/default/s1');
      assert.ok(raw?.value.startsWith('k8s:enc:aesgcm:v1:key1:'), raw?.value);
    } finally {
      await s.stop();
      await store.close();
    }
    const bytes = await sqliteBytes(dir);
    const b64 = Buffer.from(`${MARKER}-s1`).toString('base64');
    assert.equal(bytes.indexOf(b64), -1, 'the secret value (base64) is not in the file');
    assert.equal(bytes.indexOf(`${MARKER}-s1`), -1, 'the secret value is not in the file');
    // The check can see plaintext: the configmap (not encrypted) is there.
    assert.notEqual(bytes.indexOf(`${MARKER}-cm`), -1);
  });

  it("etcd's raw values of encrypted resources hold no plaintext", async () => {
    etcd = await startEtcd();
    const store = await openEtcdStore({ endpoints: etcd.endpoints, prefix: '/enc' });
    const s = await serve(store, config(only('key1', key1)));
    try {
      await s.client.create(SECRETS, 'default', secret('s1'));
      await s.client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { v: `${MARKER}-cm` } });
      assert.equal(Buffer.from(String((await s.client.get(SECRETS, 'default', 's1')).data?.password), 'base64').toString(), `${MARKER}-s1`);
    } finally {
      await s.stop();
      await store.close();
    }
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      const value = await raw.get('/enc/registry/secrets/default/s1').buffer();
      assert.ok(value, 'the secret is stored');
      assert.ok(value.toString().startsWith('k8s:enc:aesgcm:v1:key1:'));
      assert.equal(value.indexOf(`${MARKER}-s1`), -1);
      assert.equal(value.indexOf(Buffer.from(`${MARKER}-s1`).toString('base64')), -1);
      const cm = await raw.get('/enc/registry/configmaps/default/c1').buffer();
      assert.notEqual(cm?.indexOf(`${MARKER}-cm`), -1, 'unencrypted resources stay readable');
    } finally {
      raw.close();
    }
  });

  it('rotates keys: write with key1, read with [key2, key1], rewrite, then key2 alone reads everything', async () => {
    const dir = await sqliteDir();
    const path = join(dir, 'state.db');
    const phase = async <T>(cfg: string | undefined, body: (s: Awaited<ReturnType<typeof serve>>, store: Store) => Promise<T>): Promise<T> => {
      const store = await openSqliteStore(path);
      try {
        const s = await serve(store, cfg);
        try {
          return await body(s, store);
        } finally {
          await s.stop();
        }
      } finally {
        await store.close();
      }
    };
    const raw = async (store: Store, name: string) => (await store.get(`/registry/secrets/default/${name}`))!.value;
    const password = async (c: InProcessClient, name: string) => Buffer.from(String((await c.get(SECRETS, 'default', name)).data?.password), 'base64').toString();

    // s0 predates encryption; s1 is written with key1.
    await phase(undefined, async (s) => void (await s.client.create(SECRETS, 'default', secret('s0'))));
    await phase(config(only('key1', key1) + IDENTITY), async (s, store) => {
      await s.client.create(SECRETS, 'default', secret('s1'));
      assert.ok((await raw(store, 's1')).startsWith('k8s:enc:aesgcm:v1:key1:'));
      assert.equal(await password(s.client, 's0'), `${MARKER}-s0`);
    });
    // key2 first, key1 still known: everything reads; the rewrite moves both to key2.
    await phase(`${config(`      - aesgcm: {keys: [{name: key2, secret: ${key2}}, {name: key1, secret: ${key1}}]}\n${IDENTITY}`)}`, async (s, store) => {
      assert.equal(await password(s.client, 's0'), `${MARKER}-s0`);
      assert.equal(await password(s.client, 's1'), `${MARKER}-s1`);
      const results = await rewriteResources(s.client, ['secrets']);
      assert.equal(results[0].rewritten >= 2, true);
      assert.ok((await raw(store, 's0')).startsWith('k8s:enc:aesgcm:v1:key2:'));
      assert.ok((await raw(store, 's1')).startsWith('k8s:enc:aesgcm:v1:key2:'));
      // A second pass finds nothing stale: unchanged objects are not written again.
      const rev = await store.currentRevision();
      await rewriteResources(s.client, ['secrets']);
      assert.equal(await store.currentRevision(), rev);
    });
    await phase(config(only('key2', key2)), async (s) => {
      assert.equal(await password(s.client, 's0'), `${MARKER}-s0`);
      assert.equal(await password(s.client, 's1'), `${MARKER}-s1`);
      assert.equal((await s.client.list(SECRETS, '')).items.filter((i) => i.metadata?.name?.startsWith('s')).length >= 2, true);
    });
  });

  it('group wildcards pick resources by their storage keys; other keys pass through', async () => {
    const dir = await sqliteDir();
    const store = await openSqliteStore(join(dir, 'state.db'));
    try {
      const enc = new EncryptingStore(
        store,
        parseEncryptionConfiguration(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: ['*.apps', configmaps, 'widgets.example.com']
    providers: [{aescbc: {keys: [{name: k, secret: ${key1}}]}}]
`),
      );
      const cases: [string, boolean][] = [
        ['/registry/apps/deployments/default/d', true],
        ['/registry/configmaps/default/c', true],
        ['/registry/example.com/widgets/default/w', true],
        ['/registry/example.com/gadgets/default/g', false],
        ['/registry/secrets/default/s', false],
        ['/registry/batch/jobs/default/j', false],
      ];
      for (const [key, encrypted] of cases) {
        const created = await enc.create(key, `{"v":"${MARKER}"}`);
        assert.equal(created.value, `{"v":"${MARKER}"}`);
        assert.equal((await store.get(key))!.value.startsWith('k8s:enc:aescbc:v1:k:'), encrypted, key);
        assert.equal((await enc.get(key))!.value, `{"v":"${MARKER}"}`);
      }
      const updated = await enc.update('/registry/apps/deployments/default/d', '{"v":2}', (await store.get('/registry/apps/deployments/default/d'))!.modRevision);
      assert.equal(updated.value, '{"v":2}');
      const gone = await enc.delete('/registry/apps/deployments/default/d');
      assert.equal(gone.value, '{"v":2}');
    } finally {
      await store.close();
    }
  });

  it('a key removed before the rewrite makes reads fail with an internal error', async () => {
    const dir = await sqliteDir();
    const path = join(dir, 'state.db');
    let store = await openSqliteStore(path);
    const s = await serve(store, config(only('key1', key1)));
    await s.client.create(SECRETS, 'default', secret('s1'));
    await s.stop();
    await store.close();

    store = await openSqliteStore(path);
    try {
      const enc = new EncryptingStore(store, parseEncryptionConfiguration(config(only('key2', key2) + IDENTITY)));
      const err = await enc.get('/registry/secrets/default/s1').then(
        () => assert.fail('read succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, 500);
      assert.equal(err.message, 'Internal error occurred: no matching key was found for the provided AES transformer');
      await assert.rejects(enc.list('/registry/secrets/'), {
        message: 'Internal error occurred: unable to transform key "/registry/secrets/default/s1": no matching key was found for the provided AES transformer',
      });
      // The API server cannot fill its watch cache: it refuses to start, naming the key.
      await assert.rejects(new ApiServer({ store: enc }).start(), /unable to transform key "\/registry\/secrets\/default\/s1"/);
    } finally {
      await store.close();
    }
  });
});

/**
 * A real API server in the test's own process — a real SQLite file, the real ApiServer and the
 * in-process client, with the system namespaces — for tests of clients and controllers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/types.js';
import { ApiServer } from '../../src/apiserver/server.js';
import { InProcessClient } from '../../src/client/in-process.js';
import type { DeleteOptions, PatchType, ResourceRef, WriteOptions } from '../../src/client/interface.js';
import { ensureSystemNamespaces } from '../../src/controllers/bootstrap.js';
import { ServiceAccountController } from '../../src/controllers/serviceaccount.js';
import { openSqliteStore } from '../../src/storage/sqlite.js';
import type { Store } from '../../src/storage/store.js';

export interface InProcessCluster {
  dir: string;
  store: Store;
  server: ApiServer;
  client: InProcessClient;
  /** Closes the server and the store and removes the data dir (stop your controllers first). */
  stop(): Promise<void>;
}

export interface InProcessClusterOptions {
  /**
   * Run the serviceaccount controller (default true): every namespace gets its `default`
   * ServiceAccount, without which the ServiceAccount admission plugin refuses pods, as upstream.
   */
  serviceAccounts?: boolean;
}

export async function startInProcessCluster(name: string, opts: InProcessClusterOptions = {}): Promise<InProcessCluster> {
  const dir = await mkdtemp(join(tmpdir(), `skiff-${name}-`));
  const store = await openSqliteStore(join(dir, 'state.db'));
  const server = new ApiServer({ store });
  await server.start();
  const client = new InProcessClient(server);
  await ensureSystemNamespaces(client);
  const serviceAccounts = opts.serviceAccounts === false ? undefined : new ServiceAccountController(client);
  await serviceAccounts?.start();
  return {
    dir,
    store,
    server,
    client,
    async stop() {
      await serviceAccounts?.stop();
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The in-process client, counting the writes tried through it and those that succeed. */
export class CountingClient extends InProcessClient {
  attempts = 0;
  writes = 0;
  private async counted<T>(write: () => Promise<T>): Promise<T> {
    this.attempts++;
    const out = await write();
    this.writes++;
    return out;
  }
  override create(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    // Reviews and TokenRequests are answered without storing anything: not writes.
    if (this.storesNothing(ref, opts?.subresource)) return super.create(ref, namespace, obj, opts);
    return this.counted(() => super.create(ref, namespace, obj, opts));
  }
  override update(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    return this.counted(() => super.update(ref, namespace, obj, opts));
  }
  override patch(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, opts?: WriteOptions) {
    return this.counted(() => super.patch(ref, namespace, name, type, patch, opts));
  }
  override delete(ref: ResourceRef, namespace: string, name: string, opts?: DeleteOptions) {
    return this.counted(() => super.delete(ref, namespace, name, opts));
  }
}

/** Polls `check` until it returns something truthy; bounded by attempts, not by the clock. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>, attempts = 500): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** The ApiError a write that must be refused fails with (fails the test when it is admitted). */
export async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail('the write was admitted');
}

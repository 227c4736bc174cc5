/**
 * The service account controller, after upstream's serviceaccounts-controller: every active
 * namespace has a ServiceAccount named `default`. It watches namespaces and those service accounts;
 * a namespace that appears, or whose `default` goes away, is queued, and `reconcile(namespace)`
 * creates the account when the informers show it missing. Level-based: a settled world writes nothing.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { Informer } from '../client/informer.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { WorkQueue } from '../client/workqueue.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const SERVICE_ACCOUNTS: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface ServiceAccountControllerOptions {
  /** Reconciles running at once (default 1). */
  workers?: number;
  /** Backoff of a failed key: base and cap (defaults 5 ms, 1000 s, as the work queue). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  log?: (message: string) => void;
}

/** True for a namespace on its way out: nothing new may be created in it. */
export function isTerminating(ns: KubeObject): boolean {
  return Boolean(ns.metadata?.deletionTimestamp) || ns.status?.phase === 'Terminating';
}

export class ServiceAccountController {
  private readonly namespaces: Informer;
  private readonly serviceAccounts: Informer;
  private readonly queue: WorkQueue;
  private readonly workers: Promise<void>[] = [];
  private readonly log: (message: string) => void;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly opts: ServiceAccountControllerOptions = {},
  ) {
    this.log = opts.log ?? ((m) => console.error(`serviceaccount controller: ${m}`));
    this.queue = new WorkQueue({ baseDelayMs: opts.retryBaseDelayMs, maxDelayMs: opts.retryMaxDelayMs });
    this.namespaces = new Informer(client, NAMESPACES);
    this.serviceAccounts = new Informer(client, SERVICE_ACCOUNTS, '', { fieldSelector: `metadata.name=${DEFAULT_SERVICE_ACCOUNT}` });

    const enqueueNamespace = (ns: KubeObject) => this.queue.add(ns.metadata!.name!);
    this.namespaces.onAdd(enqueueNamespace).onUpdate((_old, ns) => enqueueNamespace(ns));
    // Only the loss of `default` matters: an added or changed account needs nothing from us.
    this.serviceAccounts.onDelete((sa) => {
      if (sa.metadata?.name === DEFAULT_SERVICE_ACCOUNT && sa.metadata.namespace) this.queue.add(sa.metadata.namespace);
    });
  }

  /** Resolves once both informers have listed and the workers run (or at stop()). */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.namespaces.stop();
    this.serviceAccounts.stop();
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  /** Makes sure namespace `key` has its `default` ServiceAccount. Throws what should be retried. */
  async reconcile(key: string): Promise<void> {
    const ns = this.namespaces.get(key);
    if (!ns || isTerminating(ns)) return;
    if (this.serviceAccounts.get(`${key}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    try {
      await this.client.create(SERVICE_ACCOUNTS, key, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: key },
      });
    } catch (err) {
      // 409: it exists and the informer has yet to see it. 403/404: the namespace is terminating or gone.
      if (err instanceof ApiError && (err.code === 409 || err.code === 403 || err.code === 404)) return;
      throw err;
    }
  }

  private async run(): Promise<void> {
    this.namespaces.start();
    this.serviceAccounts.start();
    const synced = await Promise.all([this.namespaces.waitForSync(), this.serviceAccounts.waitForSync()]);
    if (this.stopped || !synced.every(Boolean)) return;
    for (let i = 0; i < (this.opts.workers ?? 1); i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcile(key);
        this.queue.forget(key);
      } catch (err) {
        if (!this.stopped) this.log(`${key}: ${(err as Error).message}`);
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}

/**
 * The root CA publisher, after upstream's root-ca-cert-publisher: every active namespace has a
 * ConfigMap `kube-root-ca.crt` whose data is exactly `{ "ca.crt": <the cluster CA, PEM> }`, so pods
 * can verify the API server. Missing ones are created, edited ones put back, deleted ones recreated.
 * Level-based: `reconcile(namespace)` compares the informers' view with what should be, and a
 * settled world writes nothing.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { Informer } from '../client/informer.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { WorkQueue } from '../client/workqueue.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const CONFIG_MAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. ' +
  'No other usage is guaranteed across distributions of Kubernetes clusters.';

export interface RootCaPublisherOptions {
  /** The cluster CA certificate (PEM) published in every namespace. */
  caCert: string;
  /** Reconciles running at once (default 1). */
  workers?: number;
  /** Backoff of a failed key: base and cap (defaults 5 ms, 1000 s, as the work queue). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  log?: (message: string) => void;
}

function isTerminating(ns: KubeObject): boolean {
  return Boolean(ns.metadata?.deletionTimestamp) || ns.status?.phase === 'Terminating';
}

export class RootCaPublisher {
  private readonly namespaces: Informer;
  private readonly configMaps: Informer;
  private readonly queue: WorkQueue;
  private readonly workers: Promise<void>[] = [];
  private readonly log: (message: string) => void;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly opts: RootCaPublisherOptions,
  ) {
    this.log = opts.log ?? ((m) => console.error(`root-ca publisher: ${m}`));
    this.queue = new WorkQueue({ baseDelayMs: opts.retryBaseDelayMs, maxDelayMs: opts.retryMaxDelayMs });
    this.namespaces = new Informer(client, NAMESPACES);
    this.configMaps = new Informer(client, CONFIG_MAPS, '', { fieldSelector: `metadata.name=${ROOT_CA_CONFIG_MAP}` });

    const enqueueNamespace = (ns: KubeObject) => this.queue.add(ns.metadata!.name!);
    this.namespaces.onAdd(enqueueNamespace).onUpdate((_old, ns) => enqueueNamespace(ns));
    const enqueueOwner = (cm: KubeObject) => {
      if (cm.metadata?.name === ROOT_CA_CONFIG_MAP && cm.metadata.namespace) this.queue.add(cm.metadata.namespace);
    };
    // Upstream watches only updates and deletions; adds are watched too, so a create that loses a race
    // (409) can rely on the ConfigMap's arrival to bring it back for a look.
    this.configMaps.onAdd(enqueueOwner).onUpdate((_old, cm) => enqueueOwner(cm)).onDelete(enqueueOwner);
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
    this.configMaps.stop();
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  /** Brings namespace `key`'s `kube-root-ca.crt` in line. Throws what should be retried. */
  async reconcile(key: string): Promise<void> {
    const ns = this.namespaces.get(key);
    if (!ns || isTerminating(ns)) return;
    const data = { 'ca.crt': this.opts.caCert };
    const cm = this.configMaps.get(`${key}/${ROOT_CA_CONFIG_MAP}`);
    try {
      if (!cm) {
        await this.client.create(CONFIG_MAPS, key, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIG_MAP, namespace: key, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
          data,
        });
        return;
      }
      if (isDeepStrictEqual(cm.data ?? {}, data) && cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION]) return;
      // The cached object is frozen: write a copy. Its resourceVersion makes a stale view a 409.
      await this.client.update(CONFIG_MAPS, key, {
        ...cm,
        metadata: { ...cm.metadata, annotations: { ...cm.metadata?.annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
        data,
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // Create: 409 means it exists and its ADD is on the way (and queues this key); 403/404 means
      // the namespace is terminating or gone. Nothing to do in either case.
      if (!cm && (err.code === 409 || err.code === 403 || err.code === 404)) return;
      // An update's 409 (changed under us) or 404 (deleted under us): retried once the informer
      // has the news. Anything else is retried as well.
      throw err;
    }
  }

  private async run(): Promise<void> {
    this.namespaces.start();
    this.configMaps.start();
    const synced = await Promise.all([this.namespaces.waitForSync(), this.configMaps.waitForSync()]);
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
        // Races (409, a 404 on update) are expected and only requeued; other failures are told.
        if (!this.stopped && !(err instanceof ApiError && (err.code === 409 || err.code === 404))) this.log(`${key}: ${(err as Error).message}`);
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}

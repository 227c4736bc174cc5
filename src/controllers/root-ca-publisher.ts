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
import { InformerController, isTerminating, type ControllerOptions } from './informer-controller.js';
import { NAMESPACES } from './pods.js';

const CONFIG_MAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. ' +
  'No other usage is guaranteed across distributions of Kubernetes clusters.';

export interface RootCaPublisherOptions extends ControllerOptions {
  /** The cluster CA certificate (PEM) published in every namespace. */
  caCert: string;
}

export class RootCaPublisher extends InformerController {
  private readonly namespaces: Informer;
  private readonly configMaps: Informer;

  constructor(
    private readonly client: Client,
    private readonly opts: RootCaPublisherOptions,
  ) {
    super('root-ca publisher', opts);
    this.namespaces = new Informer(client, NAMESPACES);
    this.configMaps = new Informer(client, CONFIG_MAPS, '', { fieldSelector: `metadata.name=${ROOT_CA_CONFIG_MAP}` });
    this.use(this.namespaces, this.configMaps);

    const enqueueNamespace = (ns: KubeObject) => this.queue.add(ns.metadata!.name!);
    this.namespaces.onAdd(enqueueNamespace).onUpdate((_old, ns) => enqueueNamespace(ns));
    const enqueueOwner = (cm: KubeObject) => {
      if (cm.metadata?.name === ROOT_CA_CONFIG_MAP && cm.metadata.namespace) this.queue.add(cm.metadata.namespace);
    };
    // Upstream watches only updates and deletions; adds are watched too, so a create that loses a race
    // (409) can rely on the ConfigMap's arrival to bring it back for a look.
    this.configMaps.onAdd(enqueueOwner).onUpdate((_old, cm) => enqueueOwner(cm)).onDelete(enqueueOwner);
  }

  /** Brings namespace `key`'s `kube-root-ca.crt` in line. Throws what should be retried. */
  override async reconcile(key: string): Promise<void> {
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
}

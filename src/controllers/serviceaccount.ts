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
import { InformerController, isTerminating, type ControllerOptions } from './informer-controller.js';
import { NAMESPACES } from './pods.js';

const SERVICE_ACCOUNTS: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export type ServiceAccountControllerOptions = ControllerOptions;

export class ServiceAccountController extends InformerController {
  private readonly namespaces: Informer;
  private readonly serviceAccounts: Informer;

  constructor(
    private readonly client: Client,
    opts: ServiceAccountControllerOptions = {},
  ) {
    super('serviceaccount controller', opts);
    this.namespaces = new Informer(client, NAMESPACES);
    this.serviceAccounts = new Informer(client, SERVICE_ACCOUNTS, '', { fieldSelector: `metadata.name=${DEFAULT_SERVICE_ACCOUNT}` });
    this.use(this.namespaces, this.serviceAccounts);

    const enqueueNamespace = (ns: KubeObject) => this.queue.add(ns.metadata!.name!);
    this.namespaces.onAdd(enqueueNamespace).onUpdate((_old, ns) => enqueueNamespace(ns));
    // Only the loss of `default` matters: an added or changed account needs nothing from us.
    this.serviceAccounts.onDelete((sa) => {
      if (sa.metadata?.name === DEFAULT_SERVICE_ACCOUNT && sa.metadata.namespace) this.queue.add(sa.metadata.namespace);
    });
  }

  /** Makes sure namespace `key` has its `default` ServiceAccount. Throws what should be retried. */
  override async reconcile(key: string): Promise<void> {
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
}

/**
 * The objects service account tokens are bound to, read from the API server's watch cache: one
 * map lookup each, so checking that a token's account, pod or secret still exists costs nothing
 * on the request path.
 */
import type { KubeObject } from '../../../api/types.js';
import type { WatchCache } from '../../watch-cache.js';

export interface BoundObjects {
  serviceAccount(namespace: string, name: string): KubeObject | undefined;
  pod(namespace: string, name: string): KubeObject | undefined;
  secret(namespace: string, name: string): KubeObject | undefined;
  node(name: string): KubeObject | undefined;
}

export function watchCacheObjects(cache: WatchCache): BoundObjects {
  const get = (prefix: string, key: string) => cache.resource(prefix).objects.get(prefix + key)?.obj;
  return {
    serviceAccount: (ns, name) => get('/registry/serviceaccounts/', `${ns}/${name}`),
    pod: (ns, name) => get('/registry/pods/', `${ns}/${name}`),
    secret: (ns, name) => get('/registry/secrets/', `${ns}/${name}`),
    node: (name) => get('/registry/nodes/', name),
  };
}

/**
 * NamespaceLifecycle: no new objects in a namespace that does not exist or is being terminated,
 * and the system namespaces are never deleted. Like upstream it runs first in the mutating phase,
 * so no webhook is ever asked about a write it would refuse.
 */
import { ApiError, errors } from '../../api/errors.js';
import type { Store } from '../../storage/store.js';
import { decodeStored, type WatchCache } from '../watch-cache.js';
import type { AdmissionPlugin } from './types.js';

/** Namespaces the cluster itself needs; upstream refuses to delete them. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export function namespaceLifecycle(store: Store, cache: WatchCache): AdmissionPlugin {
  return {
    name: 'NamespaceLifecycle',
    async mutate(a) {
      if (a.operation === 'DELETE') {
        const name = a.old.metadata?.name ?? '';
        if (a.entry.group === '' && a.entry.plural === 'namespaces' && IMMORTAL_NAMESPACES.has(name)) {
          throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
        }
        return;
      }
      if (a.operation !== 'CREATE' || !a.entry.namespaced) return;
      const namespace = a.obj.metadata?.namespace ?? '';
      const key = `/registry/namespaces/${namespace}`;
      // The cache answers almost always; the store covers a namespace created a moment ago elsewhere.
      let ns = cache.resource('/registry/namespaces/').objects.get(key)?.obj;
      if (!ns) {
        const kv = await store.get(key);
        if (kv) ns = decodeStored(kv).obj;
      }
      if (!ns) throw errors.notFound('', 'namespaces', namespace);
      if (ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating') {
        throw new ApiError(403, 'Forbidden', `${a.entry.plural}${a.entry.group ? '.' + a.entry.group : ''} "${a.obj.metadata?.name ?? ''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
          name: a.obj.metadata?.name,
          kind: a.entry.plural,
          causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
        });
      }
    },
  };
}

/**
 * NamespaceLifecycle, after upstream's admission plugin: no new objects in a namespace that is
 * being terminated (403), no writes in one that does not exist (404), and the namespaces the
 * cluster itself needs cannot be deleted. Like upstream it runs first in the mutating phase, so no
 * webhook is ever asked about a write it would refuse.
 */
import { ApiError, errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { Store } from '../../storage/store.js';
import { decodeStored, type WatchCache } from '../watch-cache.js';
import type { AdmissionPlugin } from './types.js';
import { admissionForbidden } from './forbidden.js';

/** Namespaces the cluster itself needs; upstream refuses to delete them. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
/** How long after a namespace's deletion its cached copy is not trusted to say it is active (upstream's forceLiveLookupTTL). */
const FORCE_LIVE_LOOKUP_MS = 30_000;

export function namespaceLifecycle(store: Store, cache: WatchCache): AdmissionPlugin {
  /** Namespaces deleted lately, until when the store is asked about them instead of the cache. */
  const forceLiveLookup = new Map<string, number>();

  async function fromStore(key: string): Promise<KubeObject | undefined> {
    const kv = await store.get(key);
    return kv ? decodeStored(kv).obj : undefined;
  }

  return {
    name: 'NamespaceLifecycle',
    async mutate(a) {
      if (a.operation === 'DELETE') {
        if (a.entry.group !== '' || a.entry.plural !== 'namespaces') return;
        const name = a.old.metadata?.name ?? '';
        if (IMMORTAL_NAMESPACES.has(name)) {
          throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
        }
        // The cache may show it active a little longer: creates into it must see it terminating.
        const now = Date.now();
        for (const [ns, until] of forceLiveLookup) if (until <= now) forceLiveLookup.delete(ns);
        forceLiveLookup.set(name, now + FORCE_LIVE_LOOKUP_MS);
        return;
      }
      if (a.operation === 'CONNECT' || !a.entry.namespaced) return;
      const namespace = a.obj.metadata?.namespace ?? '';
      const key = `/registry/namespaces/${namespace}`;
      let ns = cache.resource('/registry/namespaces/').objects.get(key)?.obj;
      const live = (forceLiveLookup.get(namespace) ?? 0) > Date.now();
      // The cache answers almost always; the store covers a namespace created (or deleted) a moment ago.
      if (!ns || (live && ns.status?.phase !== 'Terminating')) ns = await fromStore(key);
      if (!ns) throw errors.notFound('', 'namespaces', namespace);
      if (a.operation === 'CREATE' && (ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating')) {
        throw admissionForbidden(a, `unable to create new content in namespace ${namespace} because it is being terminated`, [
          { reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' },
        ]);
      }
    },
  };
}

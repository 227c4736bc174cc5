/**
 * The objects of one resource in one namespace as admission plugins read them (upstream's listers
 * with their live-lookup fallback): the watch cache when it holds any, and the store when the cache
 * holds none and may not have caught up with the latest write (a LimitRange or quota created a
 * moment before the pod it must apply to).
 */
import type { KubeObject } from '../../api/types.js';
import type { Store } from '../../storage/store.js';
import { decodeStored, type WatchCache } from '../watch-cache.js';

export async function namespaceObjects(store: Store, cache: WatchCache, resourcePrefix: string, namespace: string): Promise<KubeObject[]> {
  const prefix = `${resourcePrefix}${namespace}/`;
  const cached: KubeObject[] = [];
  const all = cache.resource(resourcePrefix).list();
  // Keys are sorted: find the namespace's first key by bisection, then read while it lasts.
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (all[mid].key < prefix) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < all.length && all[i].key.startsWith(prefix); i++) cached.push(all[i].obj);
  if (cached.length > 0) return cached;
  if (cache.revision >= (await store.currentRevision())) return [];
  const page = await store.list(prefix);
  return page.items.map((kv) => decodeStored(kv).obj);
}

/** The current objects straight from the store, for decisions that must not act on a stale copy. */
export async function namespaceObjectsFromStore(store: Store, resourcePrefix: string, namespace: string): Promise<KubeObject[]> {
  const page = await store.list(`${resourcePrefix}${namespace}/`);
  return page.items.map((kv) => decodeStored(kv).obj);
}

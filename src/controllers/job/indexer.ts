/**
 * Adds an index to a shared informer unless a controller built on the same informers already did:
 * a controller constructed again (a new leader term, a test) reuses its own index, which is the
 * same function under the same name.
 */
import type { IndexFunc, Informer } from '../../client/informer.js';

export function addIndexerOnce(informer: Informer, name: string, fn: IndexFunc): void {
  try {
    informer.byIndex(name, '');
    return;
  } catch {
    informer.addIndexer(name, fn);
  }
}

/**
 * Serving custom resources: follows CustomResourceDefinitions in this API server's watch cache and
 * keeps the registry's entries (and so routing, discovery and OpenAPI) and the custom schemas in
 * step with them. A CRD is served once it is Established, and until it is gone.
 */
import type { KubeObject, ResourceEntry } from '../../api/types.js';
import type { ResourceRegistry } from '../registry.js';
import type { ServedSchemas } from '../schemas.js';
import type { WatchCache } from '../watch-cache.js';
import { CRD_PREFIX, conditionTrue, entriesFromCrd } from './entries.js';

export class CustomResourceServing {
  private readonly served = new Map<string, ResourceEntry[]>();
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly registry: ResourceRegistry,
    private readonly cache: WatchCache,
    private readonly schemas: ServedSchemas,
  ) {}

  /** Call once the watch cache is filled: replays the current CRDs, then follows changes. */
  start(): void {
    const w = this.cache.watch(CRD_PREFIX, { keyPrefix: CRD_PREFIX, matches: () => true, onEvent: (type, ev) => this.sync(ev.obj, type === 'DELETED') }, undefined);
    this.stopWatch = w.stop;
  }

  stop(): void {
    this.stopWatch?.();
  }

  private sync(crd: KubeObject, deleted: boolean): void {
    const name = crd.metadata?.name ?? '';
    const before = this.served.get(name) ?? [];
    const after = deleted || !conditionTrue(crd, 'Established') ? [] : entriesFromCrd(crd);
    const path = (e: ResourceEntry) => `${e.group}/${e.version}/${e.plural}`;
    const keep = new Set(after.map(path));
    // Schemas first: whoever the registry change notifies may read them.
    const others = [...this.served.entries()].filter(([n]) => n !== name).flatMap(([, es]) => es);
    this.schemas.setCustomEntries([...others, ...after]);
    for (const e of before) if (!keep.has(path(e))) this.registry.remove(e.group, e.version, e.plural);
    for (const e of after) this.registry.add(e);
    if (after.length > 0) this.served.set(name, after);
    else this.served.delete(name);
  }
}

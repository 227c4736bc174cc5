/**
 * Shared informers, after client-go's SharedInformerFactory: every component in a process that
 * reads pods reads one pod informer, so 30,000 pods are listed, watched and held once, not once per
 * controller. The factory owns the informers: it starts them and stops them; controllers only add
 * handlers and indexers and read.
 */
import { Informer, type InformerOptions } from './informer.js';
import type { Client, ResourceRef } from './interface.js';

export interface SharedInformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export class SharedInformers {
  private readonly informers = new Map<string, Informer>();
  private started = false;

  constructor(
    readonly client: Client,
    private readonly defaults: Omit<InformerOptions, 'labelSelector' | 'fieldSelector'> = {},
  ) {}

  /** The one informer for `ref` with these options; started now if the factory already runs. */
  informer(ref: ResourceRef, opts: SharedInformerOptions = {}): Informer {
    const key = [ref.group, ref.version, ref.resource, opts.namespace ?? '', opts.labelSelector ?? '', opts.fieldSelector ?? ''].join('|');
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer(this.client, ref, opts.namespace ?? '', { ...this.defaults, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
      this.informers.set(key, inf);
      if (this.started) inf.start();
    }
    return inf;
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Resolves true once every informer asked for so far has listed. */
  async waitForSync(): Promise<boolean> {
    const synced = await Promise.all([...this.informers.values()].map((inf) => inf.waitForSync()));
    return synced.every(Boolean);
  }

  stop(): void {
    for (const inf of this.informers.values()) inf.stop();
  }
}

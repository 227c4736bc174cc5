/** Opens the configured Store backend: embedded SQLite by default, etcd for several API servers. */
import { openEtcdStore } from './etcd.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export type StoreOptions =
  | { kind: 'sqlite'; path: string }
  | { kind: 'etcd'; endpoints: string[]; prefix?: string };

export function openStore(opts: StoreOptions): Promise<Store> {
  switch (opts.kind) {
    case 'sqlite':
      return openSqliteStore(opts.path);
    case 'etcd':
      return openEtcdStore({ endpoints: opts.endpoints, prefix: opts.prefix });
  }
}

export * from './store.js';
export { openSqliteStore } from './sqlite.js';
export { openEtcdStore, type EtcdStoreOptions } from './etcd.js';

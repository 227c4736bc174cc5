/**
 * The Store: a revisioned key-value store with etcd's semantics. Everything the API server keeps
 * lives here, and resourceVersion is the store's revision, so both backends (SQLite, etcd) must
 * agree on every rule below; `conformance.ts` is the suite that holds them to it.
 *
 * - One global revision, increased by exactly one by every successful create, update or delete.
 * - create fails with AlreadyExists when the key exists.
 * - update and delete are compare-and-swap on the key's modRevision.
 * - list by prefix, at the latest revision or at a past one still in history, with a limit and
 *   an exclusive start key for paging; every page of one paged list reads the same revision.
 * - watch a prefix from a revision: every event whose revision is greater, in order, none lost,
 *   none duplicated; Compacted when that revision is older than the compaction point.
 */

export interface KeyValue {
  key: string;
  /** The stored bytes, as text (the API server stores JSON). */
  value: string;
  /** Revision at which the key was (last) created. */
  createRevision: number;
  /** Revision of the key's last change. */
  modRevision: number;
  /**
   * Set by an encrypting store when the value was read with a key that is no longer the primary
   * one: an update rewrites it even when nothing else changed (upstream's stale read).
   */
  stale?: true;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /**
   * For 'put', the new value. For 'delete', the value just before deletion, with modRevision
   * set to the revision of the deletion itself (the way the API server reports a DELETED object).
   */
  kv: KeyValue;
  /** The value before this event, when there was one. */
  prevKv?: KeyValue;
  /** The revision of this event; equals kv.modRevision. */
  revision: number;
}

export interface ListOptions {
  /** At most this many items; 0 or undefined means no limit. */
  limit?: number;
  /** Return keys strictly greater than this one (paging). */
  startAfter?: string;
  /** Read at this past revision; undefined means the latest. */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when keys remain after the last item returned. */
  more: boolean;
  /** How many keys remain after the last item returned (for ListMeta.remainingItemCount). */
  remaining: number;
}

export interface Watcher {
  stop(): void;
}

export interface WatchHandler {
  /** Called for each event, in revision order. */
  onEvent(event: WatchEvent): void;
  /** Called at most once; the watch is over after it. */
  onError(err: StoreError): void;
}

export interface Store {
  /** The backend's name, for logs and benchmarks ('sqlite', 'etcd'). */
  readonly name: string;
  currentRevision(): Promise<number>;
  get(key: string): Promise<KeyValue | undefined>;
  /** Creates the key; AlreadyExists if it exists. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Replaces the key's value if its modRevision equals `expectedModRevision`; Conflict if not, NotFound if absent. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /**
   * Deletes the key, if `expectedModRevision` is given only when it matches (Conflict if not).
   * Returns the deleted value with modRevision set to the deletion's revision. NotFound if absent.
   */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /** Keys beginning with `prefix`, in byte order of key. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Counts keys beginning with `prefix` at the latest revision. */
  count(prefix: string): Promise<number>;
  /** Events for keys beginning with `prefix` with revision > `afterRevision`. */
  watch(prefix: string, afterRevision: number, handler: WatchHandler): Watcher;
  /** Forgets history before `revision`; reads and watches before it then fail with Compacted. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export type StoreErrorCode = 'AlreadyExists' | 'NotFound' | 'Conflict' | 'Compacted' | 'FutureRevision' | 'Unavailable';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** For Conflict: the key's current value, so callers can retry without another read. */
    readonly current?: KeyValue,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

/** The smallest string greater than every string beginning with `prefix` (range end for prefix scans). */
export function prefixEnd(prefix: string): string {
  // Keys are ASCII paths; incrementing the last code unit bounds the range.
  if (prefix.length === 0) return '\uffff';
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

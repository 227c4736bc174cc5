/**
 * The embedded Store: etcd's semantics on one SQLite file (better-sqlite3, synchronous calls).
 *
 * Two tables carry the data. `current` holds the latest value of every live key, so gets, latest
 * lists and counts read one table in key order. `log` holds one row per revision (the write
 * history): reads at past revisions, watch replay and prevKv come from it. Because the only
 * writer is this process and better-sqlite3 is synchronous, the revision counter lives in memory
 * and every write (check, `current` change, `log` row) runs without any interleaving; no write can
 * slip between a watcher's replay and its switch to live events.
 *
 * Group commit: a commit costs more than the write itself, so the writes of one turn of the event
 * loop share one transaction (a `Batch`), committed at the end of the turn. Each write still gets
 * its own revision and checks its CAS condition inside that transaction, where the batch's earlier
 * writes are visible, so CAS stays exact. Nothing of a batch is visible outside it before COMMIT
 * succeeds: its writes settle, its events reach watchers and `revision` moves only then, and a failed
 * COMMIT rejects every write of the batch and forgets its revisions.
 */
import Database from 'better-sqlite3';
import {
  type KeyValue, type ListOptions, type ListResult, type Store, type WatchEvent, type WatchHandler, type Watcher,
  StoreError, prefixEnd,
} from './store.js';

const PUT = 0;
const DELETE = 1;

/** Revisions a replaying watcher reads per turn of the event loop, so a long replay cannot starve writers. */
const REPLAY_CHUNK = 1000;
/** Revisions physical compaction deletes per transaction, for the same reason. */
const COMPACT_CHUNK = 2_000;
/**
 * How often the WAL is checkpointed (copied into the database file, with the only fsyncs of this
 * store), if anything was committed since the last time. SQLite's own autocheckpoint would run one
 * inside whichever COMMIT crosses 1000 pages, stalling every request in flight many times a second
 * under load; one timer tick per second bounds both the stalls and the WAL's growth.
 */
const CHECKPOINT_INTERVAL_MS = 1000;
/** After a checkpoint has reset it, a WAL grown by a burst is truncated back to this size. */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS current (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  mod_revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS log (
  revision INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  type INTEGER NOT NULL,            -- 0 put, 1 delete
  value TEXT NOT NULL,              -- for a delete: the value that was deleted
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER             -- revision of the key's previous row; NULL for a creation
);
CREATE INDEX IF NOT EXISTS log_key_revision ON log (key, revision);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;

const KV_COLUMNS = 'key, value, create_revision AS createRevision, mod_revision AS modRevision';

interface LogRow {
  revision: number;
  key: string;
  type: number;
  value: string;
  createRevision: number;
  prevRevision: number | null;
  prevValue: string | null;
  prevCreateRevision: number | null;
}

class SqliteWatch implements Watcher {
  /** The first revision this watcher has not yet been given (or skipped as not matching). */
  nextRevision: number;
  /** False while replaying history from `log`; live watchers get events straight from writes. */
  live = false;
  stopped = false;

  constructor(
    readonly prefix: string,
    readonly prefixEnd: string,
    afterRevision: number,
    readonly handler: WatchHandler,
    private readonly owner: SqliteStore,
  ) {
    this.nextRevision = afterRevision + 1;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.owner.forget(this);
  }
}

function prepareStatements(db: Database.Database) {
  return {
    get: db.prepare<[string], KeyValue>(`SELECT ${KV_COLUMNS} FROM current WHERE key = ?`),
    insertCurrent: db.prepare<[string, string, number, number]>(
      'INSERT INTO current (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING'),
    updateCurrent: db.prepare<[string, number, string]>('UPDATE current SET value = ?, mod_revision = ? WHERE key = ?'),
    deleteCurrent: db.prepare<[string]>('DELETE FROM current WHERE key = ?'),
    insertLog: db.prepare<[number, string, number, string, number, number | null]>(
      'INSERT INTO log (revision, key, type, value, create_revision, prev_revision) VALUES (?, ?, ?, ?, ?, ?)'),
    // Ranges are [from, to): `from` is the prefix, or startAfter + '\0' (the smallest key after it).
    listLatest: db.prepare<[string, string, number], KeyValue>(
      `SELECT ${KV_COLUMNS} FROM current WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`),
    countLatest: db.prepare<[string, string], number>('SELECT COUNT(*) FROM current WHERE key >= ? AND key < ?').pluck(),
    // Each key's newest row at or before the revision, unless that row is a delete. Written as a
    // correlated MAX so SQLite walks log_key_revision in key order and stops at the LIMIT.
    listAt: db.prepare<[string, string, number, number, number], KeyValue>(`
      SELECT key, value, create_revision AS createRevision, revision AS modRevision FROM log AS l
      WHERE key >= ? AND key < ? AND revision <= ? AND type = ${PUT}
        AND revision = (SELECT MAX(revision) FROM log WHERE key = l.key AND revision <= ?)
      ORDER BY key LIMIT ?`),
    // Counting needs no order, so one pass grouping by key is cheapest (bare `type` comes from the MAX row).
    countAt: db.prepare<[string, string, number], number>(`
      SELECT COUNT(*) FROM (
        SELECT type, MAX(revision) FROM log WHERE key >= ? AND key < ? AND revision <= ? GROUP BY key
      ) WHERE type = ${PUT}`).pluck(),
    replay: db.prepare<[number, number, string, string], LogRow>(`
      SELECT l.revision, l.key, l.type, l.value, l.create_revision AS createRevision,
             l.prev_revision AS prevRevision, p.value AS prevValue, p.create_revision AS prevCreateRevision
      FROM log l LEFT JOIN log p ON p.revision = l.prev_revision AND l.type = ${PUT}
      WHERE l.revision >= ? AND l.revision <= ? AND l.key >= ? AND l.key < ?
      ORDER BY l.revision`),
    maxRevision: db.prepare<[], number | null>('SELECT MAX(revision) FROM log').pluck(),
    minRevision: db.prepare<[], number | null>('SELECT MIN(revision) FROM log').pluck(),
    getMeta: db.prepare<[string], number>('SELECT value FROM meta WHERE name = ?').pluck(),
    setMeta: db.prepare<[string, number]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
    // Below the compaction point only each key's newest row survives, and only if it is a put:
    // exactly what reads at revisions >= the point, and prevKv of later rows, still need.
    compactRange: db.prepare<[number, number, number]>(`
      DELETE FROM log WHERE revision >= ? AND revision < ? AND (
        type = ${DELETE} OR revision < (
          SELECT MAX(newer.revision) FROM log AS newer WHERE newer.key = log.key AND newer.revision < ?))`),
    begin: db.prepare('BEGIN'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
  };
}

/** A write of the open batch, settled when the batch commits. */
interface PendingWrite {
  /** The write's event; `event.kv` is what the caller gets. Undefined for a write that failed. */
  event?: WatchEvent;
  /** A CAS failure judged against the batch's own uncommitted writes (see `write`). */
  error?: StoreError;
  resolve(kv: KeyValue): void;
  reject(err: unknown): void;
}

/** The writes sharing the open transaction. */
class Batch {
  /** The revision of the batch's newest write; starts at the committed revision. */
  lastRevision: number;
  /** Keys the batch has changed: reads of them must wait for the commit (see `get`). */
  readonly keys = new Set<string>();
  readonly writes: PendingWrite[] = [];

  constructor(committedRevision: number) {
    this.lastRevision = committedRevision;
  }

  /** Whether the batch changed a key in [from, to). */
  touches(from: string, to: string): boolean {
    for (const k of this.keys) if (k >= from && k < to) return true;
    return false;
  }
}

class SqliteStore implements Store {
  readonly name = 'sqlite';
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private revision: number;
  private compactRevision: number;
  private closed = false;
  /** Copied on change, so a delivery loop keeps iterating the list it started with. */
  private watchers: SqliteWatch[] = [];
  /** Events committed but not yet handed to live watchers. */
  private pending: WatchEvent[] = [];
  private flushScheduled = false;
  private compaction: Promise<void> = Promise.resolve();

  /** update and delete return the key's previous value; this.revision moves only after the commit. */
  private readonly createTxn: (key: string, value: string, rev: number) => void;
  private readonly updateTxn: (key: string, value: string, expected: number, rev: number) => KeyValue;
  private readonly deleteTxn: (key: string, expected: number | undefined, rev: number) => KeyValue;

  constructor(private readonly db: Database.Database) {
    this.stmt = prepareStatements(db);
    // Like etcd, an empty store is at revision 1: resourceVersion "0" means "any" in the API and
    // must never name a real state.
    this.revision = Math.max(this.stmt.maxRevision.get() ?? 0, 1);
    this.compactRevision = this.stmt.getMeta.get('compact_revision') ?? 0;
    const s = this.stmt;

    this.createTxn = db.transaction((key: string, value: string, rev: number): void => {
      if (s.insertCurrent.run(key, value, rev, rev).changes === 0) {
        throw new StoreError('AlreadyExists', `key ${key} already exists`);
      }
      s.insertLog.run(rev, key, PUT, value, rev, null);
    });
    this.updateTxn = db.transaction((key: string, value: string, expected: number, rev: number): KeyValue => {
      const prev = current(s.get.get(key), key, expected);
      s.updateCurrent.run(value, rev, key);
      s.insertLog.run(rev, key, PUT, value, prev.createRevision, prev.modRevision);
      return prev;
    });
    this.deleteTxn = db.transaction((key: string, expected: number | undefined, rev: number): KeyValue => {
      const prev = current(s.get.get(key), key, expected);
      s.deleteCurrent.run(key);
      s.insertLog.run(rev, key, DELETE, prev.value, prev.createRevision, prev.modRevision);
      return prev;
    });
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.revision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    return this.stmt.get.get(key);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.checkOpen();
    const rev = this.revision + 1;
    this.createTxn(key, value, rev);
    this.revision = rev;
    const kv = { key, value, createRevision: rev, modRevision: rev };
    if (this.watchers.length !== 0) this.publish({ type: 'put', kv, revision: rev });
    return kv;
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.checkOpen();
    const rev = this.revision + 1;
    const prevKv = this.updateTxn(key, value, expectedModRevision, rev);
    this.revision = rev;
    const kv = { key, value, createRevision: prevKv.createRevision, modRevision: rev };
    if (this.watchers.length !== 0) this.publish({ type: 'put', kv, prevKv, revision: rev });
    return kv;
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.checkOpen();
    const rev = this.revision + 1;
    const prevKv = this.deleteTxn(key, expectedModRevision, rev);
    this.revision = rev;
    const kv = { key, value: prevKv.value, createRevision: prevKv.createRevision, modRevision: rev };
    if (this.watchers.length !== 0) this.publish({ type: 'delete', kv, prevKv, revision: rev });
    return kv;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    const revision = opts.revision || this.revision;
    if (revision > this.revision) {
      throw new StoreError('FutureRevision', `revision ${revision} is newer than the current revision ${this.revision}`);
    }
    if (revision < this.compactRevision) {
      throw new StoreError('Compacted', `revision ${revision} is older than the compaction point ${this.compactRevision}`);
    }
    const from = opts.startAfter !== undefined && opts.startAfter >= prefix ? opts.startAfter + '\0' : prefix;
    const to = prefixEnd(prefix);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    // One extra row tells whether more remain; counting is only paid for when they do.
    const sqlLimit = limit === 0 ? -1 : limit + 1;
    const atLatest = revision === this.revision;
    const items = atLatest
      ? this.stmt.listLatest.all(from, to, sqlLimit)
      : this.stmt.listAt.all(from, to, revision, revision, sqlLimit);
    if (limit === 0 || items.length <= limit) return { items, revision, more: false, remaining: 0 };
    items.length = limit;
    const after = items[limit - 1].key + '\0';
    const remaining = atLatest ? this.stmt.countLatest.get(after, to)! : this.stmt.countAt.get(after, to, revision)!;
    return { items, revision, more: true, remaining };
  }

  async count(prefix: string): Promise<number> {
    this.checkOpen();
    return this.stmt.countLatest.get(prefix, prefixEnd(prefix))!;
  }

  watch(prefix: string, afterRevision: number, handler: WatchHandler): Watcher {
    const w = new SqliteWatch(prefix, prefixEnd(prefix), afterRevision, handler, this);
    if (this.closed) {
      w.stopped = true;
      setImmediate(() => handler.onError(new StoreError('Unavailable', 'store is closed')));
      return w;
    }
    this.watchers = [...this.watchers, w];
    if (w.nextRevision > this.revision) {
      w.live = true;
    } else {
      // Replay starts on a later turn: events must never reach a handler before watch() returns.
      setImmediate(() => this.replay(w));
    }
    return w;
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision > this.revision) {
      throw new StoreError('FutureRevision', `cannot compact at ${revision}, newer than the current revision ${this.revision}`);
    }
    if (revision <= this.compactRevision) return;
    // Logical compaction takes effect at once (reads and watches below fail from now on); rows
    // are deleted afterwards in chunks, like etcd does, so a big compaction never stalls writes.
    this.stmt.setMeta.run('compact_revision', revision);
    this.compactRevision = revision;
    const run = this.compaction.then(() => this.deleteHistoryBefore(revision));
    this.compaction = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compaction;
    const watchers = this.watchers;
    this.watchers = [];
    for (const w of watchers) this.fail(w, new StoreError('Unavailable', 'store is closed'));
    this.db.close();
  }

  forget(w: SqliteWatch): void {
    this.watchers = this.watchers.filter((x) => x !== w);
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('Unavailable', 'store is closed');
  }

  private publish(event: WatchEvent): void {
    this.pending.push(event);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /**
   * Hands committed events to live watchers, in revision order, after the writing call has
   * returned (a microtask later). Writers never wait on watchers: a write only appends to
   * `pending`, which holds at most the events of one synchronous burst. A handler that writes
   * to the store from onEvent is safe too: its event joins the next flush, behind this one.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const events = this.pending;
    this.pending = [];
    const watchers = this.watchers;
    for (const ev of events) {
      for (const w of watchers) {
        if (!w.live || w.stopped || ev.revision < w.nextRevision) continue;
        w.nextRevision = ev.revision + 1;
        if (ev.kv.key.startsWith(w.prefix)) this.deliver(w, ev);
      }
    }
  };

  /** Replays `log` for one watcher, a chunk per turn, until it reaches the current revision. */
  private replay(w: SqliteWatch): void {
    if (w.stopped) return;
    if (w.nextRevision < this.compactRevision) {
      this.fail(w, new StoreError('Compacted',
        `watch from revision ${w.nextRevision} is older than the compaction point ${this.compactRevision}`));
      return;
    }
    const last = Math.min(w.nextRevision + REPLAY_CHUNK - 1, this.revision);
    // all(), not iterate(): a handler may call the store, and the connection cannot run a
    // statement while a cursor is open.
    for (const row of this.stmt.replay.all(w.nextRevision, last, w.prefix, w.prefixEnd)) {
      if (w.stopped) return;
      this.deliver(w, rowToEvent(row));
    }
    if (w.stopped) return;
    w.nextRevision = last + 1;
    // Same synchronous turn as the read above: nothing can be written between it and going live.
    if (w.nextRevision > this.revision) w.live = true;
    else setImmediate(() => this.replay(w));
  }

  private deliver(w: SqliteWatch, ev: WatchEvent): void {
    try {
      w.handler.onEvent(ev);
    } catch (err) {
      // A throwing handler would otherwise lose events silently; end its watch so it starts over.
      this.fail(w, new StoreError('Unavailable', `watch handler failed: ${(err as Error)?.message ?? err}`));
    }
  }

  private fail(w: SqliteWatch, err: StoreError): void {
    w.stop();
    try {
      w.handler.onError(err);
    } catch (bug) {
      // Not allowed to cut short the delivery loop that called us; surface it on its own.
      queueMicrotask(() => {
        throw bug;
      });
    }
  }

  private async deleteHistoryBefore(point: number): Promise<void> {
    let from = this.stmt.minRevision.get() ?? point;
    while (from < point && !this.closed) {
      const to = Math.min(from + COMPACT_CHUNK, point);
      this.stmt.compactRange.run(from, to, point);
      from = to;
      if (from < point) await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** The key's current row if `expected` (when given) matches its modRevision; NotFound or Conflict if not. */
function current(prev: KeyValue | undefined, key: string, expected: number | undefined): KeyValue {
  if (prev === undefined) throw new StoreError('NotFound', `key ${key} not found`);
  if (expected !== undefined && prev.modRevision !== expected) {
    throw new StoreError('Conflict', `key ${key} is at revision ${prev.modRevision}, not ${expected}`, prev);
  }
  return prev;
}

function rowToEvent(row: LogRow): WatchEvent {
  const kv: KeyValue = { key: row.key, value: row.value, createRevision: row.createRevision, modRevision: row.revision };
  if (row.type === DELETE) {
    const prevKv = { key: row.key, value: row.value, createRevision: row.createRevision, modRevision: row.prevRevision! };
    return { type: 'delete', kv, prevKv, revision: row.revision };
  }
  if (row.prevRevision === null || row.prevValue === null) return { type: 'put', kv, revision: row.revision };
  const prevKv = { key: row.key, value: row.prevValue, createRevision: row.prevCreateRevision!, modRevision: row.prevRevision };
  return { type: 'put', kv, prevKv, revision: row.revision };
}

/**
 * Opens (or creates) the store in the file at `path`. One process owns the file: it is opened
 * in exclusive locking mode, and a second opener fails instead of corrupting the revision order.
 */
export async function openSqliteStore(path: string): Promise<Store> {
  // A short busy timeout: a lock held by another process is not going to go away soon.
  const db = new Database(path, { timeout: 1000 });
  try {
    // Exclusive locking also lets WAL work without the shared-memory index (it is one process).
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    // synchronous=NORMAL in WAL mode: a commit is not fsynced, only checkpoints are. Every
    // committed write survives a crash of this process; an OS crash or power loss can lose the
    // last transactions since the latest checkpoint (the file stays consistent, never corrupt),
    // and the revisions of those lost writes would then be handed out again.
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    db.exec(SCHEMA);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new StoreError('Unavailable', `${path} is in use by another process`);
    }
    throw err;
  }
  return new SqliteStore(db);
}

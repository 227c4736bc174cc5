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
import { closeSync, fdatasync, fstatSync, openSync, realpathSync } from 'node:fs';
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
 * store) if anything was committed since the last time. SQLite's own autocheckpoint would run one
 * inside whichever COMMIT crosses 1000 pages, many times a second under load, each stalling every
 * request in flight.
 */
const CHECKPOINT_INTERVAL_MS = 1000;
/**
 * A checkpoint starts before the next tick once the WAL holds this much. The part of it that runs on
 * the event loop grows with the WAL: 32 loops creating 1 KB values wrote ~790 MB of WAL in a second,
 * which took 860 ms to checkpoint; 8 MB takes a few ms.
 */
const CHECKPOINT_WAL_BYTES = 8 * 1024 * 1024;

// `current` stays a rowid table: WITHOUT ROWID keeps whole rows in the b-tree's interior pages and
// moves rows over ~1 KB to overflow pages, so with values of 1 KB and more it measured 3.5x slower
// inserts, 4x slower gets and 3x the file size.
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
  /** Keys the batch has changed: a read of one commits the batch first (see SqliteStore.batch). */
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
  /** The newest committed revision. Everything outside the open batch reads at this one. */
  private revision: number;
  private compactRevision: number;
  private closed = false;
  /**
   * The open transaction, from the first write of a turn to its commit at the end of the turn.
   *
   * Reads must see committed state only, yet they share the one connection, inside this
   * transaction. A read of keys the batch has not changed gets the same rows inside it as outside,
   * so it just runs; a read that could see the batch's writes commits the batch first (and then
   * sees them committed, or not at all if the commit failed). Reads at past revisions never need
   * to: the batch's `log` rows are all above `revision`. The alternatives cost more. Committing
   * before every read would end most batches of an API server, where a patch's get lands between
   * other requests' writes in the same turn. A second, read-only connection would need normal
   * locking (giving up the exclusive lock that keeps out a second process), and in WAL mode it
   * drops its whole page cache whenever the other connection has committed, i.e. before most reads.
   */
  private batch: Batch | undefined;
  /** Something was committed since the last checkpoint. */
  private walDirty = false;
  private readonly checkpointTimer: NodeJS.Timeout;
  /** Set from the start of a checkpoint (its fsync of the WAL) to its end. */
  private checkpointing: Promise<void> | undefined;
  /** Copied on change, so a delivery loop keeps iterating the list it started with. */
  private watchers: SqliteWatch[] = [];
  /** Events committed but not yet handed to live watchers. */
  private pending: WatchEvent[] = [];
  private flushScheduled = false;
  private compaction: Promise<void> = Promise.resolve();

  /**
   * The writes, run inside the open batch; each returns its event. A StoreError leaves the
   * database unchanged: every check comes before the first change.
   */
  private readonly createOp: (key: string, value: string, rev: number) => WatchEvent;
  private readonly updateOp: (key: string, value: string, expected: number, rev: number) => WatchEvent;
  private readonly deleteOp: (key: string, expected: number | undefined, rev: number) => WatchEvent;

  constructor(
    private readonly db: Database.Database,
    /** Our own descriptor of the `-wal` file (SQLite locks only the database file, never this one). */
    private readonly walFd: number | undefined,
  ) {
    this.stmt = prepareStatements(db);
    // Like etcd, an empty store is at revision 1: resourceVersion "0" means "any" in the API and
    // must never name a real state.
    this.revision = Math.max(this.stmt.maxRevision.get() ?? 0, 1);
    this.compactRevision = this.stmt.getMeta.get('compact_revision') ?? 0;
    const s = this.stmt;

    this.createOp = (key, value, rev) => {
      if (s.insertCurrent.run(key, value, rev, rev).changes === 0) {
        throw new StoreError('AlreadyExists', `key ${key} already exists`);
      }
      s.insertLog.run(rev, key, PUT, value, rev, null);
      return { type: 'put', kv: { key, value, createRevision: rev, modRevision: rev }, revision: rev };
    };
    this.updateOp = (key, value, expected, rev) => {
      const prevKv = current(s.get.get(key), key, expected);
      s.updateCurrent.run(value, rev, key);
      s.insertLog.run(rev, key, PUT, value, prevKv.createRevision, prevKv.modRevision);
      const kv = { key, value, createRevision: prevKv.createRevision, modRevision: rev };
      return { type: 'put', kv, prevKv, revision: rev };
    };
    this.deleteOp = (key, expected, rev) => {
      const prevKv = current(s.get.get(key), key, expected);
      s.deleteCurrent.run(key);
      s.insertLog.run(rev, key, DELETE, prevKv.value, prevKv.createRevision, prevKv.modRevision);
      const kv = { key, value: prevKv.value, createRevision: prevKv.createRevision, modRevision: rev };
      return { type: 'delete', kv, prevKv, revision: rev };
    };
    this.checkpointTimer = setInterval(() => {
      if (this.walDirty) this.startCheckpoint();
    }, CHECKPOINT_INTERVAL_MS).unref();
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.revision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    if (this.batch?.keys.has(key)) this.commit();
    return this.stmt.get.get(key);
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.write(key, (rev) => this.createOp(key, value, rev));
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.write(key, (rev) => this.updateOp(key, value, expectedModRevision, rev));
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.write(key, (rev) => this.deleteOp(key, expectedModRevision, rev));
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    const from = opts.startAfter !== undefined && opts.startAfter >= prefix ? opts.startAfter + '\0' : prefix;
    const to = prefixEnd(prefix);
    if ((!opts.revision || opts.revision === this.revision) && this.batch?.touches(from, to)) this.commit();
    const revision = opts.revision || this.revision;
    if (revision > this.revision) {
      throw new StoreError('FutureRevision', `revision ${revision} is newer than the current revision ${this.revision}`);
    }
    if (revision < this.compactRevision) {
      throw new StoreError('Compacted', `revision ${revision} is older than the compaction point ${this.compactRevision}`);
    }
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
    const to = prefixEnd(prefix);
    if (this.batch?.touches(prefix, to)) this.commit();
    return this.stmt.countLatest.get(prefix, to)!;
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
      // Live already: the open batch's events, if any, come at its commit.
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
    // Compaction writes in transactions of its own (the open batch is committed first), so a
    // failed commit of the batch cannot undo the compaction point, nor a failed chunk the batch.
    this.commit();
    this.stmt.setMeta.run('compact_revision', revision);
    this.walDirty = true;
    this.compactRevision = revision;
    const run = this.compaction.then(() => this.deleteHistoryBefore(revision));
    this.compaction = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.checkpointTimer);
    // Writes already accepted are committed, not dropped: their callers are waiting for them.
    this.commit();
    await this.compaction;
    // A checkpoint's fsync may be running in the thread pool on walFd.
    await this.checkpointing;
    // The last batch's events reach watchers before they are told the store is gone.
    this.flush();
    const watchers = this.watchers;
    this.watchers = [];
    for (const w of watchers) this.fail(w, new StoreError('Unavailable', 'store is closed'));
    try {
      // Leaves the data in the database file alone, with an empty WAL, for whoever copies it next.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Nothing is lost: the next open replays the WAL.
    }
    this.db.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
  }

  forget(w: SqliteWatch): void {
    this.watchers = this.watchers.filter((x) => x !== w);
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('Unavailable', 'store is closed');
  }

  /** Runs a write in the open batch (opening one if needed); it settles when the batch commits. */
  private write(key: string, op: (rev: number) => WatchEvent): Promise<KeyValue> {
    if (this.closed) return Promise.reject(new StoreError('Unavailable', 'store is closed'));
    let batch: Batch;
    try {
      batch = this.batch ?? this.begin();
    } catch (err) {
      return Promise.reject(unavailable('cannot begin a transaction', err));
    }
    let event: WatchEvent;
    try {
      event = op(batch.lastRevision + 1);
    } catch (err) {
      if (!(err instanceof StoreError)) {
        // An I/O error or a full disk, after which SQLite may have rolled back the whole
        // transaction on its own: the batch's earlier writes are gone too, or cannot be trusted.
        const failure = unavailable(`write of ${key} failed`, err);
        this.abort(batch, failure);
        return Promise.reject(failure);
      }
      // Judged against committed state, the answer is final now. Judged against an uncommitted
      // write of the batch (the Conflict even carries it), it holds only once that write commits.
      if (!batch.keys.has(key)) return Promise.reject(err);
      return new Promise((resolve, reject) => batch.writes.push({ error: err, resolve, reject }));
    }
    batch.lastRevision = event.revision;
    batch.keys.add(key);
    return new Promise((resolve, reject) => batch.writes.push({ event, resolve, reject }));
  }

  private begin(): Batch {
    this.stmt.begin.run();
    const batch = new Batch(this.revision);
    this.batch = batch;
    // The end of the turn is setImmediate, not a microtask. Requests arrive as separate I/O
    // callbacks of the poll phase, each draining its own microtasks, so a microtask commit would
    // batch only the writes of one request; the check phase comes right after the poll phase,
    // once every request that was ready has been handled, so a write waits no longer than the
    // other ready requests take, and a lone write only the hop from poll to check.
    setImmediate(this.commitAtEndOfTurn, batch);
    return batch;
  }

  private readonly commitAtEndOfTurn = (batch: Batch): void => {
    // A read or close() may have committed it already.
    if (this.batch === batch) this.commit();
  };

  /** Commits the open batch, if there is one, then publishes its events and settles its writes. */
  private commit(): void {
    const batch = this.batch;
    if (batch === undefined) return;
    this.batch = undefined;
    try {
      this.stmt.commit.run();
    } catch (err) {
      this.abort(batch, unavailable('commit failed', err));
      return;
    }
    this.revision = batch.lastRevision;
    if (this.watchers.length !== 0) {
      for (const w of batch.writes) if (w.event) this.publish(w.event);
    }
    for (const w of batch.writes) {
      if (w.event) w.resolve(w.event.kv);
      else w.reject(w.error);
    }
    if (batch.keys.size !== 0) {
      this.walDirty = true;
      if (this.walOverLimit()) this.startCheckpoint();
    }
  }

  /** Past journal_size_limit, the WAL file's size is its content (see openSqliteStore). */
  private walOverLimit(): boolean {
    if (this.walFd === undefined || this.checkpointing !== undefined) return false;
    try {
      return fstatSync(this.walFd).size > CHECKPOINT_WAL_BYTES;
    } catch {
      return false; // the timer still checkpoints
    }
  }

  /** Rolls back the batch and rejects all its writes; their revisions are handed out again. */
  private abort(batch: Batch, err: StoreError): void {
    if (this.batch === batch) this.batch = undefined;
    if (this.db.inTransaction) {
      try {
        this.stmt.rollback.run();
      } catch {
        // The writes are rejected all the same; a transaction left open fails the next BEGIN.
      }
    }
    for (const w of batch.writes) w.reject(err);
  }

  /**
   * A checkpoint in two steps. First the WAL is fsynced from libuv's thread pool, off the event
   * loop, while requests go on. Then the checkpoint itself, which has to run here (on this
   * connection), finds only the commits made since then left to fsync in the WAL; what stays on
   * the event loop is copying pages into the database file and its fsync. The extra fsync only
   * makes data durable sooner, never later.
   */
  private startCheckpoint(): void {
    if (this.checkpointing !== undefined || this.closed) return;
    const fd = this.walFd;
    const synced = fd === undefined
      ? Promise.resolve()
      // An error is the checkpoint's to report: it fsyncs the same file again.
      : new Promise<void>((resolve) => fdatasync(fd, () => resolve()));
    this.checkpointing = synced.then(() => {
      this.checkpointing = undefined;
      if (this.closed) return;
      // A checkpoint cannot run inside a transaction: this turn's writes commit a little early.
      this.commit();
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
        this.walDirty = false;
      } catch {
        // Tried again on the next tick; until then the WAL only grows.
      }
    });
  }

  private publish(event: WatchEvent): void {
    this.pending.push(event);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /**
   * Hands committed events to live watchers, in revision order, after the commit that made them
   * (a microtask later). Writers never wait on watchers: a commit only appends to `pending`, which
   * holds at most the events of a few batches. A handler that writes to the store from onEvent is
   * safe too: its write joins the next batch, whose events come behind these.
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
    // Same synchronous turn as the read above: nothing can be committed between it and going
    // live, and the open batch's events, above `last`, come at its commit.
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
      this.commit();
      this.stmt.compactRange.run(from, to, point);
      this.walDirty = true;
      from = to;
      if (from < point) await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function unavailable(message: string, cause: unknown): StoreError {
  const err = new StoreError('Unavailable', `${message}: ${(cause as Error)?.message ?? String(cause)}`);
  err.cause = cause;
  return err;
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
    // transactions committed since the latest checkpoint, which the timer keeps to about the last
    // second of writes (the file stays consistent, never corrupt), and the revisions of those lost
    // writes would then be handed out again.
    db.pragma('synchronous = NORMAL');
    // Checkpoints come from the store's timer (CHECKPOINT_INTERVAL_MS), never from inside a COMMIT.
    db.pragma('wal_autocheckpoint = 0');
    // After a checkpoint the WAL is written again from its start, and the first commit truncates
    // a larger file back to this limit; so whenever the file is larger, its size is the content.
    db.pragma(`journal_size_limit = ${CHECKPOINT_WAL_BYTES}`);
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
  return new SqliteStore(db, openWal(path));
}

/** The WAL file that SQLite opened next to the database (it resolves symlinks too), if there is one. */
function openWal(path: string): number | undefined {
  try {
    return openSync(`${realpathSync(path)}-wal`, 'r');
  } catch {
    // No WAL file (an in-memory database): checkpoints then do all their fsyncs themselves.
    return undefined;
  }
}

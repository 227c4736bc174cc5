/**
 * The Store on a real etcd v3: every rule of the contract is an etcd rule already, so this file
 * only translates. Writes are single transactions guarded by compares on the key's version and
 * mod_revision; reads are linearizable ranges; watches are etcd watches with prev_kv.
 *
 * The `etcd3` package supplies the gRPC channel and protos, but we talk to its raw KV and Watch
 * clients: its high-level Watcher moves its resume revision to the header revision on (re)connect,
 * which can skip events, and it drops compact_revision, which we need to report Compacted.
 */
import {
  CompareResult, CompareTarget, Etcd3, GRPCCancelledError, GRPCDeadlineExceededError, GRPCUnavailableError,
  ClientClosedError, type ICompare, type IDuplexStream, type IKeyValue, type IOptions, type IWatchRequest, type IWatchResponse,
  type KVClient, type WatchClient,
} from 'etcd3';
import {
  type KeyValue, type ListOptions, type ListResult, type Store, type WatchEvent, type WatchHandler, type Watcher,
  StoreError,
} from './store.js';

export interface EtcdStoreOptions {
  endpoints: string[];
  /** Prepended to every key in etcd, so several clusters (or tests) can share one etcd. */
  prefix?: string;
}

const CALL_TIMEOUT_MS = 30_000;
const WATCH_RETRY_MIN_MS = 100;
const WATCH_RETRY_MAX_MS = 2_000;
/** A watch that cannot reconnect for this long reports Unavailable, so its owner can resync. */
const WATCH_GIVE_UP_MS = 60_000;

/**
 * etcd3's default policies retry failed calls and open a circuit breaker for a host after three
 * failures. Retrying a txn whose reply was lost could apply a write twice (and turn a successful
 * create into AlreadyExists), and after three failures in a row the breaker refuses every call for 5 s.
 * Failures surface as Unavailable instead; the API server's clients retry.
 */
const passThrough = {
  // async: etcd3 relies on execute() turning a throw into a rejection.
  async execute<T>(fn: (ctx: { signal: AbortSignal }) => T | PromiseLike<T>): Promise<T> {
    return fn({ signal: new AbortController().signal });
  },
};

function mapError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes('required revision has been compacted')) return new StoreError('Compacted', message);
  if (message.includes('required revision is a future revision')) return new StoreError('FutureRevision', message);
  if (
    err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError || err instanceof ClientClosedError ||
    /etcdserver: (request timed out|leader changed|no leader|too many requests)/.test(message)
  ) {
    return new StoreError('Unavailable', message);
  }
  return err;
}

/** The smallest byte string after every string that starts with `prefix`; [0] means "no end". */
function rangeEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]);
}

class EtcdStore implements Store {
  readonly name = 'etcd';
  closed = false;
  readonly kv: KVClient;
  readonly watchClient: WatchClient;
  private watchers = new Set<EtcdWatch>();

  constructor(private readonly client: Etcd3, readonly prefix: string) {
    this.kv = client.kv;
    this.watchClient = client.watchClient;
  }

  encode(key: string): Buffer {
    // etcd rejects an empty key; "\0" is the smallest key there is.
    return key === '' && this.prefix === '' ? Buffer.from([0]) : Buffer.from(this.prefix + key);
  }

  /** The end of the range of keys that start with `prefix`. */
  rangeEnd(prefix: string): Buffer {
    return rangeEnd(Buffer.from(this.prefix + prefix));
  }

  decode(kv: IKeyValue): KeyValue {
    return {
      key: kv.key.toString().slice(this.prefix.length),
      value: kv.value.toString(),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
    };
  }

  async currentRevision(): Promise<number> {
    const res = await this.call(() => this.kv.range({ key: this.encode(''), count_only: true }));
    return Number(res.header.revision);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call(() => this.kv.range({ key: this.encode(key) }));
    return res.kvs.length === 0 ? undefined : this.decode(res.kvs[0]);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    const k = this.encode(key);
    const res = await this.call(() => this.kv.txn({
      compare: [{ key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: 0 }],
      success: [{ request_put: { key: k, value: Buffer.from(value) } }],
    }));
    if (!res.succeeded) throw new StoreError('AlreadyExists', `key ${key} already exists`);
    const rev = Number(res.header.revision);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    const k = this.encode(key);
    const res = await this.call(() => this.kv.txn({
      // An absent key has mod_revision 0 in etcd's compares; the version guard keeps update from creating it.
      compare: [
        { key: k, target: CompareTarget.Version, result: CompareResult.Greater, version: 0 },
        { key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expectedModRevision },
      ],
      success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    }));
    if (!res.succeeded) throw this.casFailure(key, expectedModRevision, res.responses[0].response_range.kvs);
    const prev = res.responses[0].response_put.prev_kv;
    return { key, value, createRevision: Number(prev.create_revision), modRevision: Number(res.header.revision) };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const k = this.encode(key);
    const compare: ICompare[] = [{ key: k, target: CompareTarget.Version, result: CompareResult.Greater, version: 0 }];
    if (expectedModRevision !== undefined) {
      compare.push({ key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expectedModRevision });
    }
    const res = await this.call(() => this.kv.txn({
      compare,
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    }));
    if (!res.succeeded) throw this.casFailure(key, expectedModRevision, res.responses[0].response_range.kvs);
    const prev = this.decode(res.responses[0].response_delete_range.prev_kvs[0]);
    return { ...prev, modRevision: Number(res.header.revision) };
  }

  private casFailure(key: string, expected: number | undefined, kvs: IKeyValue[]): StoreError {
    if (kvs.length === 0) return new StoreError('NotFound', `key ${key} not found`);
    const current = this.decode(kvs[0]);
    return new StoreError('Conflict', `key ${key} is at revision ${current.modRevision}, not ${expected}`, current);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const start = opts.startAfter !== undefined && opts.startAfter >= prefix ? opts.startAfter + '\0' : prefix;
    const res = await this.call(() => this.kv.range({
      key: this.encode(start),
      range_end: this.rangeEnd(prefix),
      limit: opts.limit && opts.limit > 0 ? opts.limit : 0,
      revision: opts.revision || 0,
    }));
    const items = res.kvs.map((kv) => this.decode(kv));
    // A range at a past revision carries the current revision in its header, not the one read.
    const revision = opts.revision || Number(res.header.revision);
    // `count` is every key in [start, end) at that revision, the limit notwithstanding.
    return { items, revision, more: res.more, remaining: Number(res.count) - items.length };
  }

  async count(prefix: string): Promise<number> {
    const res = await this.call(() =>
      this.kv.range({ key: this.encode(prefix), range_end: this.rangeEnd(prefix), count_only: true }));
    return Number(res.count);
  }

  watch(prefix: string, afterRevision: number, handler: WatchHandler): Watcher {
    const w = new EtcdWatch(this, prefix, afterRevision, handler);
    if (this.closed) {
      setImmediate(() => w.fail(new StoreError('Unavailable', 'store is closed')));
    } else {
      this.watchers.add(w);
      void w.connect();
    }
    return w;
  }

  forget(w: EtcdWatch): void {
    this.watchers.delete(w);
  }

  async compact(revision: number): Promise<void> {
    try {
      // physical: resolve once etcd has applied it, so what follows sees the compaction done.
      await this.call(() => this.kv.compact({ revision, physical: true }));
    } catch (err) {
      // At or below the current compaction point there is nothing to do; compaction is idempotent here.
      if (err instanceof StoreError && err.code === 'Compacted') return;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w.fail(new StoreError('Unavailable', 'store is closed'));
    this.client.close();
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('Unavailable', 'store is closed');
    try {
      return await fn();
    } catch (err) {
      throw mapError(err);
    }
  }
}

/**
 * One etcd watch stream per Store watch. If the stream breaks (etcd restart, network), it is
 * re-created from the first revision not yet delivered, so the handler sees no gap and no
 * duplicate; if that revision has meanwhile been compacted, the watch ends with Compacted.
 */
class EtcdWatch implements Watcher {
  private stream?: IDuplexStream<IWatchRequest, IWatchResponse>;
  private nextRevision: number;
  private stopped = false;
  private retryDelay = WATCH_RETRY_MIN_MS;
  private failingSince = 0;
  private readonly key: Buffer;
  private readonly end: Buffer;

  constructor(
    private readonly owner: EtcdStore,
    prefix: string,
    afterRevision: number,
    private readonly handler: WatchHandler,
  ) {
    // start_revision 0 would mean "from now" to etcd.
    this.nextRevision = Math.max(1, afterRevision + 1);
    this.key = owner.encode(prefix);
    this.end = owner.rangeEnd(prefix);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.owner.forget(this);
    this.stream?.cancel();
    this.stream = undefined;
  }

  fail(err: StoreError): void {
    if (this.stopped) return;
    this.stop();
    this.handler.onError(err);
  }

  async connect(): Promise<void> {
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.owner.watchClient.watch();
    } catch (err) {
      this.reconnectLater(err);
      return;
    }
    if (this.stopped) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    stream.on('data', (res) => this.onResponse(stream, res));
    stream.on('error', (err) => this.onBroken(stream, err));
    stream.on('end', () => this.onBroken(stream, new Error('watch stream ended')));
    stream.write({
      create_request: { key: this.key, range_end: this.end, start_revision: this.nextRevision, prev_kv: true },
    });
  }

  private onResponse(stream: IDuplexStream<IWatchRequest, IWatchResponse>, res: IWatchResponse): void {
    if (stream !== this.stream) return;
    const compactRevision = Number(res.compact_revision);
    if (compactRevision > 0) {
      this.fail(new StoreError('Compacted',
        `watch from revision ${this.nextRevision} is older than the compaction point ${compactRevision}`));
      return;
    }
    if (res.canceled) {
      this.fail(new StoreError('Unavailable', `etcd canceled the watch: ${res.cancel_reason || 'no reason given'}`));
      return;
    }
    if (res.created) {
      this.retryDelay = WATCH_RETRY_MIN_MS;
      this.failingSince = 0;
    }
    for (const ev of res.events) {
      const revision = Number(ev.kv.mod_revision);
      if (revision < this.nextRevision) continue;
      this.nextRevision = revision + 1;
      let event: WatchEvent;
      if (ev.type === 'Delete') {
        const prevKv = ev.prev_kv ? this.owner.decode(ev.prev_kv) : undefined;
        const kv = prevKv
          ? { ...prevKv, modRevision: revision }
          : { key: ev.kv.key.toString().slice(this.owner.prefix.length), value: '', createRevision: 0, modRevision: revision };
        event = { type: 'delete', kv, prevKv, revision };
      } else {
        const kv = this.owner.decode(ev.kv);
        event = ev.prev_kv ? { type: 'put', kv, prevKv: this.owner.decode(ev.prev_kv), revision } : { type: 'put', kv, revision };
      }
      try {
        this.handler.onEvent(event);
      } catch (err) {
        this.fail(new StoreError('Unavailable', `watch handler failed: ${(err as Error)?.message ?? err}`));
      }
      if (this.stopped) return;
    }
  }

  private onBroken(stream: IDuplexStream<IWatchRequest, IWatchResponse>, err: unknown): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.reconnectLater(err);
  }

  private reconnectLater(err: unknown): void {
    if (this.stopped) return;
    if (this.owner.closed) {
      this.fail(new StoreError('Unavailable', 'store is closed'));
      return;
    }
    const now = Date.now();
    if (this.failingSince === 0) this.failingSince = now;
    if (now - this.failingSince > WATCH_GIVE_UP_MS) {
      this.fail(new StoreError('Unavailable', `watch could not reconnect to etcd: ${(err as Error)?.message ?? err}`));
      return;
    }
    setTimeout(() => void this.connect(), this.retryDelay).unref();
    this.retryDelay = Math.min(this.retryDelay * 2, WATCH_RETRY_MAX_MS);
  }
}

export async function openEtcdStore(opts: EtcdStoreOptions): Promise<Store> {
  const options: IOptions = {
    hosts: opts.endpoints,
    faultHandling: { global: passThrough, host: () => passThrough } as unknown as IOptions['faultHandling'],
    // Watches are long-lived streams; only unary calls get a deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    grpcOptions: {
      // Unpaged lists of a big cluster exceed gRPC's 4 MiB default; etcd itself sends up to 2 GiB.
      'grpc.max_receive_message_length': 2 ** 31 - 1,
      // Notice a dead etcd on an idle watch stream instead of waiting for TCP to give up.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    },
  };
  const store = new EtcdStore(new Etcd3(options), opts.prefix ?? '');
  try {
    await store.currentRevision();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

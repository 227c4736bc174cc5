/**
 * Watch over HTTP: a chunked stream of JSON events served from the watch cache, with upstream's
 * resourceVersion rules, bookmarks, sendInitialEvents, timeouts and Table-encoded events.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject, ResourceEntry } from '../api/types.js';
import { negotiate } from './codec.js';
import { errors, type ApiError } from '../api/errors.js';
import { toApiError } from './http.js';
import { apiVersionOf, type VersionView } from './handlers.js';
import { isTrue } from './request-info.js';
import { parseResourceVersion, type ObjectFilter, type ResourceStore } from './resource-store.js';
import { parseIncludeObject, toTable } from './table.js';
import { storagePrefix } from './registry.js';
import type { CacheEvent, EventType } from './watch-cache.js';

/** Upstream ends watches after minRequestTimeout (1800 s) times a random factor in [1, 2). */
const DEFAULT_TIMEOUT_SECONDS = 1800;
/** Upstream sends a bookmark roughly every minute to watchers that asked for them. */
const BOOKMARK_INTERVAL_MS = 60_000;
/**
 * A watcher that lets this much pile up unread beyond what its initial events left is cut off, like
 * upstream's watcher whose result channel stays full: the client reconnects, and the memory is freed.
 */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export async function serveWatch(
  resources: ResourceStore,
  req: IncomingMessage,
  res: ServerResponse,
  requested: ResourceEntry,
  view: VersionView,
  namespace: string,
  name: string,
  query: URLSearchParams,
  filter: ObjectFilter,
): Promise<void> {
  const entry = view.storage;
  const neg = negotiate(req.headers.accept, true);
  const include = neg.format === 'table' ? parseIncludeObject(query.get('includeObject')) : 'Object';
  const bookmarks = isTrue(query.get('allowWatchBookmarks'));
  const sendInitialParam = query.get('sendInitialEvents');
  const sendInitial = sendInitialParam !== null ? isTrue(sendInitialParam) : undefined;
  const match = query.get('resourceVersionMatch') ?? '';
  const rvParam = query.get('resourceVersion') ?? '';
  if (sendInitial !== undefined) {
    if (match !== 'NotOlderThan') throw errors.invalidListOptions('resourceVersionMatch', "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
    if (sendInitial && !bookmarks) throw errors.invalidListOptions('allowWatchBookmarks', 'sendInitialEvents requires setting allowWatchBookmarks to true');
  } else if (match !== '') {
    throw errors.invalidListOptions('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
  }
  const timeoutRaw = query.get('timeoutSeconds');
  let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS * (1 + Math.random());
  if (timeoutRaw !== null && timeoutRaw !== '') {
    const t = Number(timeoutRaw);
    if (!Number.isFinite(t) || t < 0) throw errors.badRequest(`invalid timeoutSeconds: ${timeoutRaw}`);
    if (t > 0) timeoutSeconds = t;
  }

  // Where the stream starts: after a revision (replay), or from the current state (synthetic ADDED).
  let afterRv: number | undefined;
  const rv = rvParam === '' ? undefined : parseResourceVersion(rvParam);
  if (sendInitial === true) {
    if (rv !== undefined && rv > 0) await resources.cache.waitFor(rv);
    afterRv = undefined;
  } else if (sendInitial === false) {
    afterRv = rv && rv > 0 ? rv : resources.cache.revision;
  } else if (rv === undefined || rv === 0) {
    afterRv = undefined;
  } else {
    await resources.cache.waitFor(rv);
    afterRv = rv;
  }

  const apiVersion = apiVersionOf(requested);
  const converted = view.storage !== requested;
  const tableEvents = neg.format === 'table';
  res.writeHead(200, { 'Content-Type': neg.contentType, 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  let closed = false;
  let lastRv = afterRv ?? 0;
  // The initial events are written at once, however large; the bound applies from then on.
  let bufferLimit = Infinity;
  const write = (line: string) => {
    if (closed) return;
    res.write(line);
    if (res.writableLength > bufferLimit) {
      // Ending politely would keep the backlog until the client reads it, which it does not.
      finish();
      res.destroy();
    }
  };
  const lineFor = (type: EventType, ev: CacheEvent): string => {
    const seen = converted ? view.fromStorage({ obj: ev.obj, json: ev.json, rv: ev.rv }) : ev;
    if (tableEvents) {
      const table = toTable(requested, [seen.obj], { include, tableVersion: neg.tableVersion!, listMeta: { resourceVersion: String(ev.rv) } });
      return `{"type":"${type}","object":${JSON.stringify(table)}}\n`;
    }
    return `{"type":"${type}","object":${seen.json}}\n`;
  };
  const bookmark = (atRv: number, initialEnd = false) => {
    const meta: Record<string, unknown> = { resourceVersion: String(atRv) };
    if (initialEnd) meta.annotations = { 'k8s.io/initial-events-end': 'true' };
    const obj: KubeObject = { kind: requested.kind, apiVersion, metadata: meta };
    write(`{"type":"BOOKMARK","object":${JSON.stringify(obj)}}\n`);
  };

  const keyPrefix = resources.listPrefix(entry, namespace) + name;
  let handle: { rv: number; stop(): void } | undefined;
  let lastBookmark = Date.now();
  try {
    handle = resources.cache.watch(
      storagePrefix(entry),
      {
        keyPrefix,
        matches: (o) => filter.matches(o),
        onEvent: (type, ev) => {
          if (name && ev.key !== keyPrefix) return;
          lastRv = ev.rv;
          write(lineFor(type, ev));
        },
        onProgress: (atRv) => {
          if (!bookmarks || Date.now() - lastBookmark < BOOKMARK_INTERVAL_MS || atRv <= lastRv) return;
          lastBookmark = Date.now();
          lastRv = atRv;
          bookmark(atRv);
        },
      },
      afterRv,
    );
  } catch (err) {
    // Upstream reports a too-old resourceVersion inside the stream, as an ERROR event with a 410 Status.
    const apiErr: ApiError = toApiError(err);
    write(`{"type":"ERROR","object":${JSON.stringify(apiErr.toStatus())}}\n`);
    res.end();
    return;
  }
  if (sendInitial === true) bookmark(handle.rv, true);
  bufferLimit = res.writableLength + MAX_BUFFERED_BYTES;

  const timer = setTimeout(() => finish(), timeoutSeconds * 1000);
  function finish(): void {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    handle?.stop();
    res.end();
  }
  req.on('close', finish);
  res.on('close', finish);
  res.on('error', finish);
}

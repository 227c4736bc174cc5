/**
 * API Priority and Fairness, simplified: a request is classified by the first matching flow schema
 * into a priority level and a flow (its user, or its namespace), then takes one of its level's
 * seats, waits in its level's queues, or is rejected. Each non-exempt level's seats are its share
 * of the server's concurrency limit (upstream: ceil(limit × shares / sum of shares); the default
 * limit is --max-requests-inflight + --max-mutating-requests-inflight = 400 + 200).
 */
import { randomUUID } from 'node:crypto';
import type { UserInfo } from '../auth/user.js';
import type { RequestInfo } from '../request-info.js';
import { FLOW_SCHEMAS, PRIORITY_LEVELS, type FlowSchemaSpec, type PriorityLevelSpec } from './bootstrap.js';
import { PriorityLevel, type PriorityLevelStats, type Waiter } from './priority-level.js';

/** Upstream's default server concurrency limit: 400 read-only + 200 mutating. */
export const DEFAULT_CONCURRENCY_LIMIT = 600;
/** How long a request may wait in a queue: upstream bounds it by a quarter of the request timeout. */
export const DEFAULT_QUEUE_WAIT_MS = 15_000;

export interface FlowControlOptions {
  /** Total seats of the non-exempt levels (default 600). */
  concurrencyLimit?: number;
  queueWaitMs?: number;
  /** Replaces upstream's levels (tests). */
  levels?: readonly PriorityLevelSpec[];
}

export interface FlowSchema extends FlowSchemaSpec {
  uid: string;
  level: PriorityLevel;
}

export interface Classification {
  schema: FlowSchema;
  level: PriorityLevel;
  flowHash: number;
}

export class FlowControl {
  readonly levels: PriorityLevel[] = [];
  private readonly schemas: FlowSchema[];
  private readonly queueWaitMs: number;

  constructor(opts: FlowControlOptions = {}) {
    const total = opts.concurrencyLimit ?? DEFAULT_CONCURRENCY_LIMIT;
    this.queueWaitMs = opts.queueWaitMs ?? DEFAULT_QUEUE_WAIT_MS;
    const specs = opts.levels ?? PRIORITY_LEVELS;
    const shares = specs.reduce((s, l) => s + (l.exempt ? 0 : l.nominalConcurrencyShares), 0);
    const byName = new Map<string, PriorityLevel>();
    for (const l of specs) {
      const limit = l.exempt ? Infinity : Math.max(1, Math.ceil((total * l.nominalConcurrencyShares) / shares));
      const level = new PriorityLevel(l.name, randomUUID(), limit, l.queues, l.handSize, l.queueLengthLimit);
      this.levels.push(level);
      byName.set(l.name, level);
    }
    this.schemas = FLOW_SCHEMAS.map((s) => ({ ...s, uid: randomUUID(), level: byName.get(s.priorityLevel) ?? byName.get('catch-all') ?? this.levels[this.levels.length - 1] }));
  }

  level(name: string): PriorityLevel | undefined {
    return this.levels.find((l) => l.name === name);
  }

  classify(user: UserInfo, info: RequestInfo): Classification {
    let schema = this.schemas[this.schemas.length - 1];
    for (const s of this.schemas) {
      if (s.matches(user, info)) {
        schema = s;
        break;
      }
    }
    const flow = schema.distinguisher === 'ByUser' ? user.name : schema.distinguisher === 'ByNamespace' ? info.namespace : '';
    return { schema, level: schema.level, flowHash: fnv1a(schema.name, flow) };
  }

  /**
   * A seat for a classified request: `true` at once, a promise while it waits in a queue
   * (resolving `true` with the seat, or `false` when its wait ran out), or `false`: rejected.
   * `waiter` receives the queued request's handle so that a client that goes away can `abandon` it.
   */
  acquire(c: Classification, onQueued?: (w: Waiter) => void): boolean | Promise<boolean> {
    const level = c.level;
    if (level.tryAcquire()) return true;
    let resolve!: (admitted: boolean) => void;
    const promise = new Promise<boolean>((r) => (resolve = r));
    const w: Waiter = {
      timer: undefined,
      settle: (admitted) => {
        if (w.timer) clearTimeout(w.timer);
        if (!admitted) level.rejected++;
        resolve(admitted);
      },
    };
    if (!level.enqueue(c.flowHash, w)) {
      level.rejected++;
      return false;
    }
    w.timer = setTimeout(() => {
      if (level.remove(w)) w.settle(false);
    }, this.queueWaitMs);
    onQueued?.(w);
    return promise;
  }

  /** A queued request whose client went away: it leaves its queue without counting as rejected. */
  abandon(c: Classification, w: Waiter): void {
    if (c.level.remove(w)) {
      if (w.timer) clearTimeout(w.timer);
    }
  }

  release(c: Classification): void {
    c.level.release();
  }

  stats(): PriorityLevelStats[] {
    return this.levels.map((l) => l.stats());
  }
}

/** FNV-1a over the schema's name and the flow distinguisher (upstream hashes both as well). */
function fnv1a(a: string, b: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0, 0x01000193);
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

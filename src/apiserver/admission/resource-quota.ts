/**
 * ResourceQuota admission, after upstream's plugin/pkg/admission/resourcequota: a write that would
 * use more than a quota in its namespace allows is refused, and one that fits is charged to every
 * matching quota's status.used before the object is stored, with a compare-and-swap on the quota,
 * so concurrent creates cannot both take the last unit. The resourcequota controller recomputes
 * status.used from what is actually stored; admission only keeps it honest between recomputations.
 *
 * Writes within one namespace are checked one at a time in this process (upstream's evaluator
 * queues work per namespace for the same reason); several API servers on one etcd meet at the
 * compare-and-swap and retry on conflict.
 *
 * When the object's own store write then fails (it already exists, a conflict, a dry run of a later
 * plugin), the charge is refunded. Upstream leaves it charged until the controller's next
 * recalculation; we refund because the update path here re-runs admission on every retry of its
 * compare-and-swap, and a charge per retry would pile up. A refund that races the controller's
 * recalculation can under-count by that one object until the next recalculation, as upstream's own
 * controller write can race an admission charge.
 */
import type { KubeObject, ResourceEntry } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import type { Store } from '../../storage/store.js';
import type { WatchCache } from '../watch-cache.js';
import type { ResourceStore } from '../resource-store.js';
import { newWriteContext } from '../resource-store.js';
import { evaluatorFor, quotaMatches, type QuotaEvaluator } from '../../quota/evaluators.js';
import {
  add,
  exceeding,
  mask,
  negatives,
  prettyPrint,
  removeZeros,
  subtract,
  subtractNonNegative,
  toResourceList,
  toUsage,
  usageEquals,
  type Usage,
} from '../../quota/resources.js';
import type { AdmissionAttributes, AdmissionOutcome, AdmissionPlugin } from './types.js';
import { admissionForbidden } from './forbidden.js';
import { namespaceObjects, namespaceObjectsFromStore } from './namespace-objects.js';

const QUOTA_PREFIX = '/registry/resourcequotas/';
const MAX_CONFLICT_RETRIES = 8;

interface Charge {
  quota: string;
  delta: Usage;
}

export class ResourceQuotaAdmission implements AdmissionPlugin {
  readonly name = 'ResourceQuota';
  private resources: ResourceStore | undefined;
  private quotaEntry: ResourceEntry | undefined;
  /** The tail of each namespace's chain of checks. */
  private readonly namespaceTails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly cache: WatchCache,
    private readonly now: () => number = Date.now,
  ) {}

  /** The store quotas are charged through (it is built with this plugin in its chain, hence late). */
  bind(resources: ResourceStore, quotaEntry: ResourceEntry): void {
    this.resources = resources;
    this.quotaEntry = quotaEntry;
  }

  async admit(a: AdmissionAttributes): Promise<AdmissionOutcome | void> {
    if (a.subresource || !a.entry.namespaced) return;
    // Upstream's default ignored resources: core events are never quota'd.
    if (a.entry.group === '' && a.entry.plural === 'events') return;
    const namespace = a.obj.metadata?.namespace ?? '';
    if (!namespace) return;
    const evaluator = evaluatorFor(a.entry.group, a.entry.plural);
    if (!evaluator.handles(a.operation)) return;
    if ((await namespaceObjects(this.store, this.cache, QUOTA_PREFIX, namespace)).length === 0) return;
    const charges = await this.serialized(namespace, () => this.check(a, evaluator, namespace));
    if (charges.length === 0) return;
    return { onAborted: () => this.serialized(namespace, () => this.refund(namespace, charges)) };
  }

  private serialized<T>(namespace: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.namespaceTails.get(namespace) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.namespaceTails.set(namespace, tail);
    void tail.then(() => {
      if (this.namespaceTails.get(namespace) === tail) this.namespaceTails.delete(namespace);
    });
    return run;
  }

  /** Checks every quota (throws the refusal) and charges those the object uses; returns the charges made. */
  private async check(a: AdmissionAttributes, evaluator: QuotaEvaluator, namespace: string): Promise<Charge[]> {
    const done = new Set<string>();
    const charges: Charge[] = [];
    let lastConflict: ApiError | undefined;
    for (let attempt = 0; ; attempt++) {
      const quotas = (await namespaceObjectsFromStore(this.store, QUOTA_PREFIX, namespace)).filter((q) => !done.has(q.metadata!.name!));
      if (quotas.length === 0) return charges;
      const planned = this.plan(a, evaluator, quotas);
      if (planned.length === 0 || a.dryRun) return charges;
      let conflicted = false;
      for (const p of planned) {
        try {
          await this.writeUsed(p.quota, p.used);
          done.add(p.quota.metadata!.name!);
          charges.push({ quota: p.quota.metadata!.name!, delta: p.delta });
        } catch (err) {
          if (!(err instanceof ApiError && (err.code === 409 || err.code === 404))) {
            await this.refund(namespace, charges);
            throw err;
          }
          // Someone else wrote it since we read it (or it is gone): read again and re-check what is left.
          if (err.code === 404) done.add(p.quota.metadata!.name!);
          else lastConflict = err;
          conflicted = true;
        }
      }
      if (!conflicted) return charges;
      if (attempt >= MAX_CONFLICT_RETRIES && lastConflict) {
        // Upstream gives up after its retries with the last update error.
        await this.refund(namespace, charges);
        throw lastConflict;
      }
    }
  }

  /** upstream's CheckRequest: the new status.used of each quota the object changes, or a refusal. */
  private plan(a: AdmissionAttributes, evaluator: QuotaEvaluator, quotas: KubeObject[]): { quota: KubeObject; used: Usage; delta: Usage }[] {
    const obj = a.obj;
    const interesting: KubeObject[] = [];
    for (const q of quotas) {
      if (!quotaMatches(evaluator, q, obj)) continue;
      const hard = toUsage(q.status?.hard);
      const restricted = evaluator.matchingResources([...hard.keys()]);
      const why = evaluator.constraints(restricted, obj);
      if (why) throw admissionForbidden(a, `failed quota: ${q.metadata?.name}: ${why}`);
      const used = q.status?.used ?? {};
      const unknown = restricted.filter((r) => !(r in used));
      if (unknown.length > 0) {
        throw admissionForbidden(a, `status unknown for quota: ${q.metadata?.name}, resources: ${[...restricted].sort().join(',')}`);
      }
      interesting.push(q);
    }
    if (interesting.length === 0) return [];
    let delta = evaluator.usage(obj, this.now());
    const negative = negatives(delta);
    if (negative.length > 0) throw admissionForbidden(a, `quota usage is negative for resource(s): ${negative.sort().join(',')}`);
    if (a.operation === 'UPDATE' && a.old?.metadata?.resourceVersion) {
      delta = subtractNonNegative(delta, evaluator.usage(a.old, this.now()));
    }
    delta = removeZeros(delta);
    if (delta.size === 0) return [];
    const out: { quota: KubeObject; used: Usage; delta: Usage }[] = [];
    for (const q of interesting) {
      const hard = toUsage(q.status?.hard);
      const requested = mask(delta, hard.keys());
      const used = toUsage(q.status?.used);
      const next = add(used, requested);
      const over = exceeding(mask(next, requested.keys()), hard);
      if (over.length > 0) {
        throw admissionForbidden(
          a,
          `exceeded quota: ${q.metadata?.name}, requested: ${prettyPrint(mask(requested, over))}, used: ${prettyPrint(mask(used, over))}, limited: ${prettyPrint(mask(hard, over))}`,
        );
      }
      if (!usageEquals(next, used)) out.push({ quota: q, used: next, delta: requested });
    }
    return out;
  }

  /** Writes status.used with the quota's resourceVersion as precondition. */
  private async writeUsed(quota: KubeObject, used: Usage): Promise<void> {
    const { resources, quotaEntry } = this.bound();
    const next = { ...quota, status: { ...quota.status, used: toResourceList(used) } };
    await resources.update(quotaEntry, quota.metadata!.namespace!, quota.metadata!.name!, next, newWriteContext(), 'status');
  }

  /** Gives back what `charges` took (compare-and-swap, retried); a quota gone or changed in shape is left to the controller. */
  private async refund(namespace: string, charges: Charge[]): Promise<void> {
    const { resources, quotaEntry } = this.bound();
    for (const c of charges) {
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        try {
          const cur = (await resources.get(quotaEntry, namespace, c.quota)).obj;
          const used = toUsage(cur.status?.used);
          const back = subtract(used, mask(c.delta, used.keys()));
          for (const [k, v] of back) if (v.nano < 0n) back.set(k, { ...v, nano: 0n });
          await this.writeUsed(cur, back);
          break;
        } catch (err) {
          if (err instanceof ApiError && err.code === 409) continue;
          if (!(err instanceof ApiError && err.code === 404)) console.error(`resource quota: could not refund ${namespace}/${c.quota}: ${(err as Error).message}`);
          break;
        }
      }
    }
  }

  private bound(): { resources: ResourceStore; quotaEntry: ResourceEntry } {
    if (!this.resources || !this.quotaEntry) throw new Error('ResourceQuota admission used before bind()');
    return { resources: this.resources, quotaEntry: this.quotaEntry };
  }
}

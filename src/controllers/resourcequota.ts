/**
 * The resource quota controller, after upstream's resourcequota controller: every ResourceQuota's
 * status.hard is its spec.hard and status.used what the objects in its namespace (within its
 * scopes) actually use. Admission charges status.used as objects are created; this controller
 * recalculates it in full when a quota appears or its spec changes, when objects go away or stop
 * using (a pod finishing, a Service changing type, a claim shrinking), and on a periodic resync.
 * Objects appearing do not trigger a recalculation, as upstream's: admission charged them already,
 * and recalculating while other creates are being admitted would forget their charges.
 *
 * The informers of counted resources start when a quota first names them (`count/widgets.example.com`
 * is resolved through discovery), so a cluster without quotas watches nothing for them.
 * Level-based: a quota whose status already says what the informers show is not written.
 */
import type { KubeObject } from '../api/types.js';
import type { Informer } from '../client/informer.js';
import type { ResourceRef } from '../client/interface.js';
import { BUILTIN_EVALUATORS, evaluatorFor, parseObjectCountName, scopeSelectorsOf, type QuotaEvaluator } from '../quota/evaluators.js';
import { addInto, mask, toResourceList, toUsage, usageEquals, type Usage } from '../quota/resources.js';
import type { ControllerContext } from './context.js';
import { BY_NAMESPACE, ensureNamespaceIndex } from './controller-utils.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { keyOf } from './pods.js';

export const RESOURCE_QUOTAS: ResourceRef = { group: '', version: 'v1', resource: 'resourcequotas' };

export interface ResourceQuotaControllerOptions extends ControllerOptions {
  /** Full recalculation of every quota (kube-controller-manager's --resource-quota-sync-period, 5 m). */
  resyncPeriodMs?: number;
}

interface Tracked {
  evaluator: QuotaEvaluator;
  informer: Informer;
}

export class ResourceQuotaController extends InformerController {
  private readonly quotas: Informer;
  /** Informers of the resources quotas count, by `group/resource`, started as quotas name them. */
  private readonly tracked = new Map<string, Tracked>();
  private discovery: Map<string, ResourceRef> | undefined;
  private resync: NodeJS.Timeout | undefined;
  private readonly resyncPeriodMs: number;

  constructor(
    private readonly ctx: ControllerContext,
    opts: ResourceQuotaControllerOptions = {},
  ) {
    super('resourcequota controller', { log: ctx.log, ...opts });
    this.resyncPeriodMs = opts.resyncPeriodMs ?? 5 * 60_000;
    this.quotas = ctx.informers.informer(RESOURCE_QUOTAS);
    ensureNamespaceIndex(this.quotas);
    this.share(this.quotas);
    this.quotas.onAdd((q) => this.queue.add(keyOf(q)));
    // Status changes are admission's charges and our own writes: only a new spec calls for a recalculation.
    this.quotas.onUpdate((old, q) => {
      if (JSON.stringify(old.spec?.hard ?? {}) !== JSON.stringify(q.spec?.hard ?? {})) this.queue.add(keyOf(q));
    });
  }

  override async start(): Promise<void> {
    await super.start();
    if (!this.resync && this.resyncPeriodMs > 0) {
      this.resync = setInterval(() => {
        for (const q of this.quotas.list()) this.queue.add(keyOf(q));
      }, this.resyncPeriodMs);
      this.resync.unref();
    }
  }

  override async stop(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    await super.stop();
  }

  override async reconcile(key: string): Promise<void> {
    const quota = this.quotas.get(key);
    if (!quota) return;
    const namespace = quota.metadata!.namespace!;
    const hard = toUsage(quota.spec?.hard);
    const hardNames = [...hard.keys()];
    const oldUsed = toUsage(quota.status?.used);
    const used: Usage = new Map(oldUsed);
    for (const evaluator of await this.evaluatorsFor(hardNames)) {
      const names = evaluator.matchingResources(hardNames);
      if (names.length === 0) continue;
      const t = await this.track(evaluator);
      if (!t) continue;
      const sum: Usage = new Map();
      for (const n of names) sum.set(n, { nano: 0n, format: 'DecimalSI' });
      const selectors = scopeSelectorsOf(quota);
      const now = this.ctx.now();
      for (const obj of t.informer.byIndex(BY_NAMESPACE, namespace)) {
        if (!selectors.every((s) => evaluator.matchesScope(s, obj))) continue;
        addInto(sum, mask(evaluator.usage(obj, now), names));
      }
      for (const [k, v] of sum) used.set(k, v);
    }
    const nextUsed = mask(used, hardNames);
    const hardChanged = !usageEquals(toUsage(quota.status?.hard), hard) || quota.status?.hard === undefined;
    if (!hardChanged && quota.status?.used !== undefined && usageEquals(nextUsed, oldUsed)) return;
    await this.ctx.client.update(
      RESOURCE_QUOTAS,
      namespace,
      { ...quota, status: { hard: { ...(quota.spec?.hard ?? {}) }, used: toResourceList(nextUsed) } },
      { subresource: 'status' },
    );
  }

  /** The evaluators for a quota's resource names: the built-in ones, and object counts of any resource. */
  private async evaluatorsFor(names: string[]): Promise<QuotaEvaluator[]> {
    const out = new Set<QuotaEvaluator>(BUILTIN_EVALUATORS.filter((e) => e.matchingResources(names).length > 0));
    for (const n of names) {
      const gr = parseObjectCountName(n);
      if (gr) out.add(evaluatorFor(gr.group, gr.resource));
    }
    return [...out];
  }

  /** The synced informer of an evaluator's resource, started on first use; undefined if the API has no such resource. */
  private async track(evaluator: QuotaEvaluator): Promise<Tracked | undefined> {
    const id = `${evaluator.group}/${evaluator.resource}`;
    let t = this.tracked.get(id);
    if (!t) {
      const ref = await this.resolve(evaluator.group, evaluator.resource);
      if (!ref) return undefined;
      const informer = ref.resource === 'resourcequotas' && ref.group === '' ? this.quotas : this.ctx.informers.informer(ref);
      ensureNamespaceIndex(informer);
      t = { evaluator, informer };
      this.tracked.set(id, t);
      this.replenishFrom(t);
      informer.start();
    }
    await t.informer.waitForSync();
    return t;
  }

  /** Objects leaving, or using less, send their namespace's quotas that count them back for a recalculation. */
  private replenishFrom(t: Tracked): void {
    const replenish = (obj: KubeObject) => {
      const namespace = obj.metadata?.namespace;
      if (!namespace) return;
      for (const q of this.quotas.byIndex(BY_NAMESPACE, namespace)) {
        if (t.evaluator.matchingResources(Object.keys(q.spec?.hard ?? {})).length > 0) this.queue.add(keyOf(q));
      }
    };
    if (t.informer === this.quotas) {
      this.quotas.onDelete(replenish);
      return;
    }
    t.informer.onDelete(replenish);
    t.informer.onUpdate((old, obj) => {
      const namespace = obj.metadata?.namespace;
      if (!namespace || this.quotas.byIndex(BY_NAMESPACE, namespace).length === 0) return;
      const now = this.ctx.now();
      if (!usageEquals(t.evaluator.usage(old, now), t.evaluator.usage(obj, now))) replenish(obj);
    });
  }

  private async resolve(group: string, resource: string): Promise<ResourceRef | undefined> {
    if (group === '') {
      const core = ['pods', 'services', 'persistentvolumeclaims', 'configmaps', 'secrets', 'replicationcontrollers', 'resourcequotas'];
      if (core.includes(resource)) return { group, version: 'v1', resource };
    }
    const find = () => this.discovery?.get(`${group}/${resource}`);
    if (!find()) {
      const listed = await this.ctx.client.resources();
      this.discovery = new Map();
      for (const r of listed) {
        const k = `${r.ref.group}/${r.ref.resource}`;
        if (r.ref.resource.includes('/') || !r.verbs.includes('list') || !r.verbs.includes('watch')) continue;
        if (r.preferred || !this.discovery.has(k)) this.discovery.set(k, r.ref);
      }
    }
    return find();
  }
}

/**
 * The ClusterRole aggregation controller, after upstream's clusterroleaggregation: a ClusterRole
 * with an aggregationRule holds the union of the rules of every ClusterRole its selectors match
 * (selectors in order, matching roles by name, each distinct rule once). Any ClusterRole change
 * requeues every aggregated role; a role already holding exactly that union is not written.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { labelSelectorFromObject, type LabelSelectorObject } from '../api/selectors.js';
import type { Informer } from '../client/informer.js';
import type { ResourceRef } from '../client/interface.js';
import type { ControllerContext } from './context.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';

const CLUSTER_ROLES: ResourceRef = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' };

export type ClusterRoleAggregationOptions = ControllerOptions;

interface AggregationRule {
  clusterRoleSelectors?: LabelSelectorObject[];
}

const aggregationRuleOf = (role: KubeObject) => (role as { aggregationRule?: AggregationRule | null }).aggregationRule ?? undefined;

/** A rule with empty lists dropped and keys in a fixed order: upstream compares rules semantically (nil == empty). */
function ruleKey(rule: unknown): string {
  if (rule === null || typeof rule !== 'object') return JSON.stringify(rule);
  const r = rule as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(r).sort()) {
    const v = r[k];
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return JSON.stringify(out);
}

export class ClusterRoleAggregationController extends InformerController {
  private readonly clusterRoles: Informer;

  constructor(
    private readonly ctx: ControllerContext,
    opts: ClusterRoleAggregationOptions = {},
  ) {
    super('clusterrole-aggregation controller', { log: ctx.log, ...opts });
    this.clusterRoles = ctx.informers.informer(CLUSTER_ROLES);
    this.share(this.clusterRoles);
    // Any role may now match (or stop matching) some aggregated role's selectors.
    const requeueAggregated = () => {
      for (const role of this.clusterRoles.list()) if (aggregationRuleOf(role)) this.queue.add(role.metadata!.name!);
    };
    this.clusterRoles
      .onAdd(requeueAggregated)
      .onUpdate(requeueAggregated)
      .onDelete(requeueAggregated);
  }

  override async reconcile(name: string): Promise<void> {
    const role = this.clusterRoles.get(name);
    const rule = role && aggregationRuleOf(role);
    if (!role || !rule) return;
    const rules = this.aggregatedRules(role, rule);
    const current = ((role as { rules?: unknown[] }).rules ?? []) as unknown[];
    if (current.length === rules.length && current.every((r, i) => ruleKey(r) === ruleKey(rules[i]))) return;
    const updated = { ...role, rules } as KubeObject;
    try {
      await this.ctx.client.update(CLUSTER_ROLES, '', updated, { fieldManager: 'clusterrole-aggregation-controller' });
    } catch (err) {
      // Gone since: nothing to aggregate. A conflict is retried with the newer copy.
      if (err instanceof ApiError && err.code === 404) return;
      throw err;
    }
  }

  /** The union of the matching roles' rules, in upstream's order. */
  private aggregatedRules(self: KubeObject, rule: AggregationRule): unknown[] {
    const out: unknown[] = [];
    const seen = new Set<string>();
    for (const selector of rule.clusterRoleSelectors ?? []) {
      let matches;
      try {
        matches = labelSelectorFromObject(selector);
      } catch {
        continue; // validation refuses bad selectors; an old stored one matches nothing
      }
      const roles = this.clusterRoles
        .list()
        .filter((r) => r.metadata?.name !== self.metadata?.name && matches.matches(r.metadata?.labels))
        .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : a.metadata!.name! > b.metadata!.name! ? 1 : 0));
      for (const r of roles) {
        for (const x of ((r as { rules?: unknown[] }).rules ?? []) as unknown[]) {
          const k = ruleKey(x);
          if (seen.has(k)) continue;
          seen.add(k);
          out.push(x);
        }
      }
    }
    return out;
  }
}

/**
 * What the eviction subresource and the disruption controller both know about a PodDisruptionBudget,
 * after upstream's component-helpers/apps/poddisruptionbudget: which pods it guards and how its
 * DisruptionAllowed condition follows status.disruptionsAllowed.
 */
import type { KubeObject } from './types.js';
import { labelSelectorFromObject, type LabelSelectorObject } from './selectors.js';

export const DISRUPTION_ALLOWED = 'DisruptionAllowed';
export const SUFFICIENT_PODS = 'SufficientPods';
export const INSUFFICIENT_PODS = 'InsufficientPods';
export const SYNC_FAILED = 'SyncFailed';

export interface BudgetCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface BudgetStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string> | null;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: BudgetCondition[] | null;
}

/**
 * Whether the budget guards the pod. A missing, empty or invalid selector guards nothing: a budget
 * must never fence in every pod of its namespace by accident.
 */
export function budgetSelectsPod(pdb: KubeObject, pod: KubeObject): boolean {
  if (pdb.metadata?.namespace !== pod.metadata?.namespace) return false;
  const sel = pdb.spec?.selector as LabelSelectorObject | null | undefined;
  if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) return false;
  try {
    return labelSelectorFromObject(sel).matches(pod.metadata?.labels ?? {});
  } catch {
    return false;
  }
}

/**
 * Sets a condition as apimachinery's meta.SetStatusCondition does: the transition time moves only
 * when the status does; reason, message and observedGeneration always follow.
 */
export function setBudgetCondition(status: BudgetStatus, cond: Omit<BudgetCondition, 'lastTransitionTime'>, now: string): void {
  const conditions = [...(status.conditions ?? [])];
  const at = conditions.findIndex((c) => c.type === cond.type);
  if (at < 0) conditions.push({ ...cond, lastTransitionTime: now });
  else conditions[at] = { ...cond, lastTransitionTime: conditions[at].status === cond.status ? conditions[at].lastTransitionTime : now };
  status.conditions = conditions;
}

/** DisruptionAllowed as status.disruptionsAllowed says: SufficientPods above zero, InsufficientPods otherwise. */
export function updateDisruptionAllowedCondition(status: BudgetStatus, now: string): void {
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  setBudgetCondition(
    status,
    {
      type: DISRUPTION_ALLOWED,
      status: allowed ? 'True' : 'False',
      reason: allowed ? SUFFICIENT_PODS : INSUFFICIENT_PODS,
      message: '',
      observedGeneration: status.observedGeneration ?? 0,
    },
    now,
  );
}

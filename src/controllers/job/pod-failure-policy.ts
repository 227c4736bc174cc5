/**
 * Matching a failed pod against a Job's podFailurePolicy, after upstream's pod_failure_policy.go:
 * rules in order, the first match decides; no match counts the failure as usual.
 */
import type { KubeObject } from '../../api/types.js';

export type PodFailurePolicyAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

export interface PodFailurePolicyMatch {
  /** The Job's failure message, for a FailJob rule. */
  failJobMessage?: string;
  /** Whether the failure counts towards backoffLimit (and backoffLimitPerIndex). */
  countFailed: boolean;
  action?: PodFailurePolicyAction;
}

interface ContainerStatus {
  name?: string;
  state?: { terminated?: { exitCode?: number } };
}

function matchingContainer(statuses: unknown, req: Record<string, any>): ContainerStatus | undefined {
  if (!Array.isArray(statuses)) return undefined;
  const values: number[] = Array.isArray(req.values) ? req.values : [];
  for (const s of statuses as ContainerStatus[]) {
    const term = s?.state?.terminated;
    if (!term) continue;
    if (req.containerName != null && req.containerName !== s.name) continue;
    const code = term.exitCode ?? 0;
    // A container that succeeded never matches.
    if (code === 0) continue;
    if (req.operator === 'In' && values.includes(code)) return s;
    if (req.operator === 'NotIn' && !values.includes(code)) return s;
  }
  return undefined;
}

export function matchPodFailurePolicy(policy: Record<string, any> | undefined | null, pod: KubeObject): PodFailurePolicyMatch {
  if (!policy) return { countFailed: true };
  const rules: Record<string, any>[] = Array.isArray(policy.rules) ? policy.rules : [];
  const ns = pod.metadata?.namespace;
  const name = pod.metadata?.name;
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index];
    const action = rule.action as PodFailurePolicyAction;
    let failJobMessage: string | undefined;
    if (rule.onExitCodes) {
      const c = matchingContainer(pod.status?.containerStatuses, rule.onExitCodes) ?? matchingContainer(pod.status?.initContainerStatuses, rule.onExitCodes);
      if (!c) continue;
      failJobMessage = `Container ${c.name} for pod ${ns}/${name} failed with exit code ${c.state!.terminated!.exitCode} matching ${action} rule at index ${index}`;
    } else if (rule.onPodConditions) {
      const patterns: { type?: string; status?: string }[] = Array.isArray(rule.onPodConditions) ? rule.onPodConditions : [];
      const conditions: { type?: string; status?: string }[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
      const cond = conditions.find((c) => patterns.some((p) => p.type === c.type && (p.status ?? 'True') === c.status));
      if (!cond) continue;
      failJobMessage = `Pod ${ns}/${name} has condition ${cond.type} matching ${action} rule at index ${index}`;
    } else {
      continue;
    }
    switch (action) {
      case 'Ignore':
        return { countFailed: false, action };
      case 'FailIndex':
        return { countFailed: true, action };
      case 'Count':
        return { countFailed: true, action };
      case 'FailJob':
        return { failJobMessage, countFailed: true, action };
    }
    // An unknown action matches nothing; the next rule may.
  }
  return { countFailed: true };
}

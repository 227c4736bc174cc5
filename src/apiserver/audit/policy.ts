/**
 * Audit policy (audit.k8s.io/v1 Policy): which requests are recorded and how much of them. Rules are
 * tried in order and the first that matches decides, as upstream's policy checker; a request no rule
 * matches is not recorded. Validation messages are upstream's (pkg/apis/audit/validation).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Attributes } from '../authz/types.js';

export type Level = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export type Stage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

export const LEVELS: readonly Level[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
export const STAGES: readonly Stage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];

export interface GroupResources {
  group?: string;
  resources?: string[];
  resourceNames?: string[];
}

export interface PolicyRule {
  level: Level;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: Stage[];
  omitManagedFields?: boolean;
}

export interface Policy {
  apiVersion?: string;
  kind?: string;
  rules: PolicyRule[];
  omitStages?: Stage[];
  omitManagedFields?: boolean;
}

/** What the policy decided for one request. */
export interface RequestAuditConfig {
  level: Level;
  omitStages: ReadonlySet<Stage>;
  omitManagedFields: boolean;
}

/** When only --audit-log-path is given: every request at Metadata level (upstream records nothing without a policy file). */
export const DEFAULT_POLICY: Policy = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] };

export function levelAtLeast(level: Level, min: Level): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(min);
}

export class PolicyRuleEvaluator {
  private readonly none: RequestAuditConfig;

  constructor(private readonly policy: Policy) {
    this.none = { level: 'None', omitStages: new Set(policy.omitStages ?? []), omitManagedFields: policy.omitManagedFields ?? false };
  }

  evaluate(a: Attributes): RequestAuditConfig {
    for (const rule of this.policy.rules) {
      if (ruleMatches(rule, a)) {
        return {
          level: rule.level,
          omitStages: new Set([...(this.policy.omitStages ?? []), ...(rule.omitStages ?? [])]),
          omitManagedFields: rule.omitManagedFields ?? this.policy.omitManagedFields ?? false,
        };
      }
    }
    return this.none;
  }
}

function ruleMatches(r: PolicyRule, a: Attributes): boolean {
  if (r.users?.length && !r.users.includes(a.user.name)) return false;
  if (r.userGroups?.length && !a.user.groups.some((g) => r.userGroups!.includes(g))) return false;
  if (r.verbs?.length && !r.verbs.includes(a.verb)) return false;
  if (r.namespaces?.length || r.resources?.length) return ruleMatchesResource(r, a);
  if (r.nonResourceURLs?.length) return !a.resourceRequest && r.nonResourceURLs.some((spec) => pathMatches(a.path, spec));
  return true;
}

function pathMatches(path: string, spec: string): boolean {
  if (spec === '*' || spec === path) return true;
  return spec.endsWith('*') && path.startsWith(spec.replace(/\*+$/, ''));
}

function ruleMatchesResource(r: PolicyRule, a: Attributes): boolean {
  if (!a.resourceRequest) return false;
  // Cluster-scoped resources have the empty namespace, which a rule may name.
  if (r.namespaces?.length && !r.namespaces.includes(a.namespace)) return false;
  if (!r.resources?.length) return true;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  for (const gr of r.resources) {
    if ((gr.group ?? '') !== a.apiGroup) continue;
    if (!gr.resources?.length) return true;
    for (const res of gr.resources) {
      if (gr.resourceNames?.length && !gr.resourceNames.includes(a.name)) continue;
      if (res === combined || res === '*') return true;
      if (a.subresource && res.startsWith('*/') && a.subresource === res.slice(2)) return true;
      if (res.endsWith('/*') && a.resource === res.slice(0, -2)) return true;
    }
  }
  return false;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Upstream's ValidatePolicy; each string is one field error. */
export function validatePolicy(p: Policy): string[] {
  const errs: string[] = [];
  errs.push(...validateOmitStages(p.omitStages, 'omitStages'));
  (p.rules ?? []).forEach((rule, i) => {
    const at = `rules[${i}]`;
    const level = rule?.level as string | undefined;
    if (!level) errs.push(`${at}.level: Required value`);
    else if (!LEVELS.includes(level as Level)) errs.push(`${at}.level: Unsupported value: ${JSON.stringify(level)}: supported values: ${LEVELS.map((l) => JSON.stringify(l)).join(', ')}`);
    (rule.nonResourceURLs ?? []).forEach((url, j) => {
      if (url === '*') return;
      if (!url.startsWith('/')) errs.push(`${at}.nonResourceURLs[${j}]: Invalid value: ${JSON.stringify(url)}: non-resource URL rules must begin with a '/' character`);
      if (url !== '' && url.slice(0, -1).includes('*')) {
        errs.push(`${at}.nonResourceURLs[${j}]: Invalid value: ${JSON.stringify(url)}: non-resource URL wildcards '*' must be the final character of the rule`);
      }
    });
    for (const gr of rule.resources ?? []) {
      if (gr.group && (gr.group.length > 253 || !DNS1123_SUBDOMAIN.test(gr.group))) {
        errs.push(
          `${at}.resources.group: Invalid value: ${JSON.stringify(gr.group)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        );
      }
      if (gr.resourceNames?.length && !gr.resources?.length) {
        errs.push(`${at}.resources.resourceNames: Invalid value: ${goStrings(gr.resourceNames)}: using resourceNames requires at least one resource`);
      }
    }
    errs.push(...validateOmitStages(rule.omitStages, `${at}.omitStages`));
    if (rule.nonResourceURLs?.length && (rule.resources?.length || rule.namespaces?.length)) {
      errs.push(`${at}.nonResourceURLs: Invalid value: ${goStrings(rule.nonResourceURLs)}: rules cannot apply to both regular resources and non-resource URLs`);
    }
  });
  return errs;
}

function goStrings(v: string[]): string {
  return `[]string{${v.map((s) => JSON.stringify(s)).join(', ')}}`;
}

function validateOmitStages(stages: string[] | undefined, path: string): string[] {
  return (stages ?? []).flatMap((s, i) => (STAGES.includes(s as Stage) ? [] : [`${path}[${i}]: Invalid value: ${JSON.stringify(s)}: allowed stages are ${STAGES.join(',')}`]));
}

/** Parses and validates a policy file's text; errors read as upstream's policy reader's. */
export function parsePolicy(text: string, source = 'policy'): Policy {
  let doc: Policy;
  try {
    doc = parseYaml(text) as Policy;
  } catch (err) {
    throw new Error(`failed decoding: ${(err as Error).message}: from file ${source}`);
  }
  if (!doc || typeof doc !== 'object') throw new Error(`failed decoding: empty policy: from file ${source}`);
  const gv = doc.apiVersion;
  if (doc.kind !== 'Policy' || (gv !== 'audit.k8s.io/v1' && gv !== 'audit.k8s.io/v1beta1' && gv !== 'audit.k8s.io/v1alpha1')) {
    throw new Error(`unknown group version field ${gv ?? ''}, Kind=${doc.kind ?? ''} in policy`);
  }
  if (!Array.isArray(doc.rules)) doc.rules = [];
  const errs = validatePolicy(doc);
  if (errs.length) throw new Error(`${errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`}: from file ${source}`);
  if (doc.rules.length === 0) throw new Error('loaded illegal policy with 0 rules');
  return doc;
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`failed to read file path ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  return parsePolicy(text, path);
}

/**
 * RBAC policy rules: how one rule matches a request (upstream's RuleAllows), and how one set of
 * rules covers another (upstream's Covers, for the escalation check), with the compact text
 * upstream prints for rules a requester lacks.
 */
import type { Attributes } from '../types.js';

/** A PolicyRule as stored (rbac.authorization.k8s.io/v1). */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const ALL = '*';

/** Reads the rules of a Role or ClusterRole, dropping anything that is not a rule (bad input never throws here). */
export function rulesOf(obj: { rules?: unknown } | undefined): PolicyRule[] {
  const raw = obj?.rules;
  if (!Array.isArray(raw)) return [];
  const out: PolicyRule[] = [];
  for (const r of raw) {
    if (r === null || typeof r !== 'object') continue;
    const o = r as Record<string, unknown>;
    const rule: PolicyRule = { verbs: strings(o.verbs) };
    if (Array.isArray(o.apiGroups)) rule.apiGroups = strings(o.apiGroups);
    if (Array.isArray(o.resources)) rule.resources = strings(o.resources);
    if (Array.isArray(o.resourceNames)) rule.resourceNames = strings(o.resourceNames);
    if (Array.isArray(o.nonResourceURLs)) rule.nonResourceURLs = strings(o.nonResourceURLs);
    out.push(rule);
  }
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  for (const v of rule.verbs) if (v === ALL || v === verb) return true;
  return false;
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  const groups = rule.apiGroups;
  if (!groups) return false;
  for (const g of groups) if (g === ALL || g === group) return true;
  return false;
}

/** `*` matches every resource and subresource; `*\/scale` any resource's scale subresource; otherwise exactly "resource" or "resource/subresource". */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  const resources = rule.resources;
  if (!resources) return false;
  for (const r of resources) {
    if (r === ALL || r === combined) return true;
    if (subresource && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

/** No resourceNames means every name; a request without a name (create, list) matches only then. */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames;
  if (!names || names.length === 0) return true;
  for (const n of names) if (n === name) return true;
  return false;
}

/** `*` is every path; a trailing `*` is a prefix. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  const urls = rule.nonResourceURLs;
  if (!urls) return false;
  for (const u of urls) {
    if (u === ALL || u === path) return true;
    if (u.endsWith('*') && path.startsWith(trimStars(u))) return true;
  }
  return false;
}

function trimStars(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 42 /* * */) end--;
  return s.slice(0, end);
}

/** Upstream's RuleAllows. */
export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (a.resourceRequest) {
    const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    return apiGroupMatches(rule, a.apiGroup) && resourceMatches(rule, combined, a.subresource) && resourceNameMatches(rule, a.name);
  }
  return nonResourceURLMatches(rule, a.path);
}

// ---- covering (escalation check) -------------------------------------------------------------

/** One rule per (group, resource, verb[, name]) and per (URL, verb), in upstream's order. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  const names = rule.resourceNames ?? [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        if (names.length > 0) {
          for (const n of names) out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [n] });
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

function hasAll(set: readonly string[] | undefined, values: readonly string[] | undefined): boolean {
  if (!values || values.length === 0) return true;
  if (!set) return false;
  for (const v of values) if (!set.includes(v)) return false;
  return true;
}

function resourceCovers(owner: readonly string[], servant: string): boolean {
  for (const o of owner) {
    if (o === ALL || o === servant) return true;
    if (o.startsWith('*/')) {
      const slash = servant.indexOf('/');
      if (slash !== -1 && servant.slice(slash + 1) === o.slice(2)) return true;
    }
  }
  return false;
}

function nonResourceURLCovers(owner: string, sub: string): boolean {
  if (owner === sub) return true;
  return owner.endsWith('*') && sub.startsWith(trimStars(owner));
}

/** Upstream's ruleCovers: `owner` grants everything `sub` does. */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = owner.verbs.includes(ALL) || hasAll(owner.verbs, sub.verbs);
  if (!verbs) return false;
  const groups = (owner.apiGroups ?? []).includes(ALL) || hasAll(owner.apiGroups, sub.apiGroups);
  if (!groups) return false;
  const ownerResources = owner.resources ?? [];
  if (!hasAll(ownerResources, sub.resources) && !(sub.resources ?? []).every((r) => resourceCovers(ownerResources, r))) return false;
  const ownerUrls = owner.nonResourceURLs ?? [];
  if (!(sub.nonResourceURLs ?? []).every((u) => ownerUrls.some((o) => nonResourceURLCovers(o, u)))) return false;
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  return subNames.length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, subNames);
}

/** Upstream's Covers: whether `owner` holds every permission of `servant`, and the broken-down rules it lacks. */
export function covers(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): { covered: boolean; missing: PolicyRule[] } {
  const missing: PolicyRule[] = [];
  for (const rule of servant) {
    for (const sub of breakdownRule(rule)) {
      if (!owner.some((o) => ruleCovers(o, sub))) missing.push(sub);
    }
  }
  return { covered: missing.length === 0, missing };
}

/** Upstream's CompactRules: simple rules (one group, one resource, at most one name) that differ only by verb become one. */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const compacted: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    const isSimple =
      (r.resourceNames ?? []).length <= 1 &&
      (r.nonResourceURLs ?? []).length === 0 &&
      r.nonResourceURLs === undefined &&
      (r.apiGroups ?? []).length === 1 &&
      (r.resources ?? []).length === 1;
    if (!isSimple) {
      compacted.push(r);
      continue;
    }
    const name = r.resourceNames?.[0];
    const key = JSON.stringify([r.apiGroups![0], r.resources![0], name ?? null]);
    const existing = simple.get(key);
    if (existing) existing.verbs.push(...r.verbs);
    else simple.set(key, { ...r, verbs: [...r.verbs] });
  }
  return [...compacted, ...simple.values()];
}

/** Go's %q of a []string: ["a" "b"]. */
export function goQuoteList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}

/** Upstream's CompactString: {APIGroups:[""], Resources:["pods"], Verbs:["get"]}. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

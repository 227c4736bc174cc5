/**
 * Which webhooks a request goes to, as upstream's ShouldCallHook: rules (operations, groups,
 * versions, resources with subresources, scope), matchPolicy Equivalent (the same objects served
 * under another group/version), namespaceSelector and objectSelector.
 */
import { conversionFor, type Conversion } from '../../../api/conversion.js';
import type { KubeObject, ResourceEntry } from '../../../api/types.js';
import { arr, selectorIsEmpty, selectorMatches, type Obj } from '../../../api/validation/util.js';
import type { ResourceRegistry } from '../../registry.js';
import type { AdmissionRequest } from '../types.js';
import type { Webhook } from './configurations.js';

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** How a webhook is called: the version it matched, and how objects convert into it. */
export interface Invocation {
  resource: GroupVersionResource;
  kind: GroupVersionKind;
  subresource: string;
  /** Set when the matched version is not the storage version. */
  conversion?: Conversion;
}

/** Webhooks are never called for the objects that configure admission (upstream: so a bad webhook cannot lock itself in). */
function apiVersionOf(e: ResourceEntry): string {
  return e.group ? `${e.group}/${e.version}` : e.version;
}

export function isExemptConfigurationResource(entry: ResourceEntry): boolean {
  return (
    entry.group === 'admissionregistration.k8s.io' &&
    ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding'].includes(entry.kind)
  );
}

export function resourceOf(entry: ResourceEntry): GroupVersionResource {
  return { group: entry.group, version: entry.version, resource: entry.plural };
}

export function kindOf(entry: ResourceEntry): GroupVersionKind {
  return { group: entry.group, version: entry.version, kind: entry.kind };
}

function exactOrWildcard(items: unknown[], requested: string): boolean {
  return items.some((i) => i === '*' || i === requested);
}

function isNamespaceResource(r: GroupVersionResource): boolean {
  return r.group === '' && r.version === 'v1' && r.resource === 'namespaces';
}

export function ruleMatches(rule: Obj, a: AdmissionRequest, resource: GroupVersionResource): boolean {
  const scope = rule.scope ?? '*';
  const namespace = a.namespace ?? '';
  if (scope === 'Namespaced' && (isNamespaceResource(resource) || namespace === '')) return false;
  if (scope === 'Cluster' && !(isNamespaceResource(resource) || namespace === '')) return false;
  if (scope !== '*' && scope !== 'Namespaced' && scope !== 'Cluster') return false;
  if (!arr(rule.operations).some((op) => op === '*' || op === a.operation)) return false;
  if (!exactOrWildcard(arr(rule.apiGroups), resource.group) || !exactOrWildcard(arr(rule.apiVersions), resource.version)) return false;
  const sub = a.subresource ?? '';
  return arr(rule.resources).some((rs) => {
    const s = String(rs);
    const slash = s.indexOf('/');
    const res = slash < 0 ? s : s.slice(0, slash);
    const rsub = slash < 0 ? '' : s.slice(slash + 1);
    return (res === '*' || res === resource.resource) && (rsub === '*' || rsub === sub);
  });
}

/** The entries serving the same stored objects as `entry` (itself excluded), with their conversions. */
export class EquivalentResources {
  private readonly cache = new WeakMap<ResourceEntry, { entry: ResourceEntry; conversion: Conversion }[]>();

  constructor(private readonly registry?: ResourceRegistry) {}

  for(entry: ResourceEntry): { entry: ResourceEntry; conversion: Conversion }[] {
    let found = this.cache.get(entry);
    if (found) return found;
    found = [];
    for (const e of this.registry?.all() ?? []) {
      if (e === entry || e.kind !== entry.kind) continue;
      const conv = conversionFor(apiVersionOf(e), e.kind);
      if (conv && conv.storageApiVersion === apiVersionOf(entry) && conv.storageKind === entry.kind) found.push({ entry: e, conversion: conv });
    }
    this.cache.set(entry, found);
    return found;
  }
}

/** The version a webhook's rules select for this request, or undefined when it is not for this webhook. */
export function matchRules(hook: Webhook, a: AdmissionRequest, equivalents: EquivalentResources): Invocation | undefined {
  const resource = resourceOf(a.entry);
  const subresource = a.subresource ?? '';
  if (hook.rules.some((r) => ruleMatches(r, a, resource))) return { resource, kind: kindOf(a.entry), subresource };
  if (hook.matchPolicy !== 'Equivalent') return undefined;
  // Earlier rules first, as upstream.
  for (const r of hook.rules) {
    for (const eq of equivalents.for(a.entry)) {
      if (ruleMatches(r, a, resourceOf(eq.entry))) return { resource: resourceOf(eq.entry), kind: kindOf(eq.entry), subresource, conversion: eq.conversion };
    }
  }
  return undefined;
}

/** objectSelector: the new or the old object's labels (a DELETE has only the old one). */
export function matchObjectSelector(hook: Webhook, a: AdmissionRequest): boolean {
  if (selectorIsEmpty(hook.objectSelector)) return true;
  const matches = (o: KubeObject | undefined) => !!o && selectorMatches(hook.objectSelector, o.metadata?.labels);
  return matches(a.obj) || matches(a.old);
}

/**
 * namespaceSelector needs the namespace's labels: `labelsOf` finds them. Cluster-scoped objects
 * other than namespaces always match; a Namespace being created or updated matches by its own labels.
 */
export async function matchNamespaceSelector(hook: Webhook, a: AdmissionRequest, labelsOf: (namespace: string) => Promise<Record<string, string> | undefined>): Promise<boolean> {
  const namespace = a.namespace ?? '';
  const isNamespace = a.entry.group === '' && a.entry.plural === 'namespaces';
  if (namespace === '' && !isNamespace) return true;
  if (selectorIsEmpty(hook.namespaceSelector)) return true;
  if (isNamespace && (a.subresource ?? '') === '' && (a.operation === 'CREATE' || a.operation === 'UPDATE')) {
    return selectorMatches(hook.namespaceSelector, a.obj.metadata?.labels);
  }
  return selectorMatches(hook.namespaceSelector, (await labelsOf(namespace)) ?? {});
}

/**
 * Discovery documents, derived from the registry: the legacy per-group-version lists that old
 * clients walk, and the aggregated (apidiscovery.k8s.io) lists that kubectl asks for first.
 */
import { createRequire } from 'node:module';
import type { ResourceEntry } from '../api/types.js';
import type { ResourceRegistry } from './registry.js';
import { POD_STREAM_SUBRESOURCES, hasPodStreams } from './pod-streams.js';

export const SKIFF_BUILD = 1;

/** The Kubernetes API level skiff implements, taken from the kubernetes-types it was built from. */
export function versionInfo(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const pkg = require('kubernetes-types/package.json') as { version: string };
  const [major, minor] = pkg.version.split('.');
  return {
    major,
    minor,
    gitVersion: `v${pkg.version}-skiff.${SKIFF_BUILD}`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '2026-11-23T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

function subresourceVerbs(sub: string): string[] {
  return sub === 'binding' || sub === 'eviction' ? ['create'] : ['get', 'patch', 'update'];
}

interface Subresource {
  name: string;
  group: string;
  version: string;
  kind: string;
  verbs: string[];
}

function subresourcesOf(e: ResourceEntry): Subresource[] {
  const out: Subresource[] = [];
  if (e.subresources.status) out.push({ name: 'status', group: e.group, version: e.version, kind: e.kind, verbs: subresourceVerbs('status') });
  if (e.subresources.scale) out.push({ name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: subresourceVerbs('scale') });
  if (e.subresources.finalize) out.push({ name: 'finalize', group: '', version: 'v1', kind: 'Namespace', verbs: ['update'] });
  if (e.subresources.binding) out.push({ name: 'binding', group: '', version: 'v1', kind: 'Binding', verbs: ['create'] });
  if (e.subresources.approval) out.push({ name: 'approval', group: e.group, version: e.version, kind: e.kind, verbs: ['get', 'patch', 'update'] });
  if (e.subresources.eviction) out.push({ name: 'eviction', group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
  for (const [name, gvk] of Object.entries(e.subresources.createOnly ?? {})) out.push({ name, ...gvk, verbs: ['create'] });
  if (hasPodStreams(e)) for (const s of POD_STREAM_SUBRESOURCES) out.push({ name: s.name, group: e.group, version: e.version, kind: s.kind, verbs: s.verbs });
  return out;
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string): object {
  const resources: object[] = [];
  for (const e of registry.all()) {
    if (e.group !== group || e.version !== version) continue;
    const r: Record<string, unknown> = {
      name: e.plural,
      singularName: e.singular,
      namespaced: e.namespaced,
      kind: e.kind,
      verbs: e.verbs,
    };
    if (e.shortNames.length) r.shortNames = e.shortNames;
    if (e.categories.length) r.categories = e.categories;
    resources.push(r);
    for (const s of subresourcesOf(e)) {
      const sr: Record<string, unknown> = { name: `${e.plural}/${s.name}`, singularName: '', namespaced: e.namespaced, kind: s.kind, verbs: s.verbs };
      if (s.group !== e.group || s.version !== e.version) {
        sr.group = s.group;
        sr.version = s.version;
      }
      resources.push(sr);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string, versions: string[]): object {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(registry: ResourceRegistry): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry
      .groups()
      .filter((g) => g.group !== '')
      .map((g) => apiGroup(g.group, g.versions)),
  };
}

export function apiGroupDoc(registry: ResourceRegistry, group: string): object | undefined {
  const g = registry.groups().find((x) => x.group === group);
  if (!g || group === '') return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g.group, g.versions) };
}

/** Aggregated discovery for /api (legacy=true) or /apis, in apidiscovery.k8s.io `version` (v2 or v2beta1). */
export function aggregatedDiscovery(registry: ResourceRegistry, legacy: boolean, version: 'v2' | 'v2beta1'): object {
  const items = registry
    .groups()
    .filter((g) => (legacy ? g.group === '' : g.group !== ''))
    .map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        resources: registry
          .all()
          .filter((e) => e.group === g.group && e.version === v)
          .map((e) => {
            const r: Record<string, unknown> = {
              resource: e.plural,
              responseKind: { group: e.group, version: e.version, kind: e.kind },
              scope: e.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: e.singular,
              verbs: e.verbs,
            };
            if (e.shortNames.length) r.shortNames = e.shortNames;
            if (e.categories.length) r.categories = e.categories;
            const subs = subresourcesOf(e);
            if (subs.length) {
              r.subresources = subs.map((s) => ({
                subresource: s.name,
                responseKind: { group: s.group, version: s.version, kind: s.kind },
                verbs: s.verbs,
              }));
            }
            return r;
          }),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

/** Which aggregated discovery version (if any) an Accept header asks for, honouring its order. */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const raw of accept.split(',')) {
    const params = raw.split(';').map((p) => p.trim());
    if (params[0] !== 'application/json') continue;
    const kv = Object.fromEntries(params.slice(1).map((p) => p.split('=').map((s) => s.trim())));
    if (kv.g === 'apidiscovery.k8s.io' && kv.as === 'APIGroupDiscoveryList' && (kv.v === 'v2' || kv.v === 'v2beta1')) return kv.v;
    if (!kv.as) return undefined;
  }
  return undefined;
}

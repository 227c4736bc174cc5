/**
 * The live set of served resources: the built-in catalog plus whatever is added at run time (CRDs).
 * Everything that needs "which resources exist" (routing, discovery, OpenAPI) asks here.
 */
import type { ResourceEntry } from '../api/types.js';
import { GROUP_ORDER } from '../api/catalog.js';

/** Resources whose objects live under another group's key prefix (same objects, another version). */
const STORAGE_ALIASES: Record<string, string> = {
  'events.k8s.io/events': '/registry/events/',
};

export function storagePrefix(e: ResourceEntry): string {
  const alias = STORAGE_ALIASES[`${e.group}/${e.plural}`];
  if (alias) return alias;
  return e.group ? `/registry/${e.group}/${e.plural}/` : `/registry/${e.plural}/`;
}

export interface GroupVersions {
  group: string;
  /** Versions in preference order; the first is the preferred one. */
  versions: string[];
}

export class ResourceRegistry {
  private readonly byPath = new Map<string, ResourceEntry>();
  private entries: ResourceEntry[] = [];
  private listeners: (() => void)[] = [];

  constructor(initial: ResourceEntry[]) {
    for (const e of initial) this.add(e, false);
  }

  add(e: ResourceEntry, notify = true): void {
    const k = `${e.group}/${e.version}/${e.plural}`;
    if (this.byPath.has(k)) this.entries = this.entries.filter((x) => `${x.group}/${x.version}/${x.plural}` !== k);
    this.byPath.set(k, e);
    this.entries.push(e);
    if (notify) this.changed();
  }

  remove(group: string, version: string, plural: string): void {
    const k = `${group}/${version}/${plural}`;
    if (!this.byPath.delete(k)) return;
    this.entries = this.entries.filter((x) => `${x.group}/${x.version}/${x.plural}` !== k);
    this.changed();
  }

  /** Called whenever the set changes (discovery and OpenAPI rebuild). */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  lookup(group: string, version: string, plural: string): ResourceEntry | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  all(): readonly ResourceEntry[] {
    return this.entries;
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.entries.some((e) => e.group === group && e.version === version);
  }

  /** Groups with their versions, in upstream's discovery order (built-ins first, then others by name). */
  groups(): GroupVersions[] {
    const map = new Map<string, string[]>();
    for (const e of this.entries) {
      const vs = map.get(e.group) ?? [];
      if (!vs.includes(e.version)) vs.push(e.version);
      map.set(e.group, vs);
    }
    const rank = (g: string) => {
      const i = GROUP_ORDER.indexOf(g);
      return i === -1 ? GROUP_ORDER.length : i;
    };
    return [...map.entries()]
      .map(([group, versions]) => ({ group, versions: versions.sort(compareVersions) }))
      .sort((a, b) => rank(a.group) - rank(b.group) || a.group.localeCompare(b.group));
  }

  findByKind(apiVersion: string, kind: string): ResourceEntry | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    return this.entries.find((e) => e.group === group && e.version === version && e.kind === kind);
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first (v2 > v1 > v1beta2 > v1beta1 > v1alpha1). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return { ok: false, major: 0, level: 0, minor: 0 };
    return { ok: true, major: Number(m[1]), level: m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2, minor: Number(m[3] ?? 0) };
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa.ok !== pb.ok) return pa.ok ? -1 : 1;
  if (!pa.ok) return a.localeCompare(b);
  return pb.level - pa.level || pb.major - pa.major || pb.minor - pa.minor;
}

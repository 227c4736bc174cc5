/**
 * Node selection as upstream's component-helpers nodeaffinity: a pod's `nodeSelector` map and its
 * required node affinity terms, compiled once per pod into a matcher of (labels, name).
 *
 * - Terms are ORed; the requirements of a term (matchExpressions and matchFields) are ANDed.
 * - A term with no requirements matches nothing; a term that does not parse (an unknown operator,
 *   Gt with a non-integer) matches nothing, while the other terms still count (LazyErrorNodeSelector).
 * - matchFields knows `metadata.name`, with In / NotIn and exactly one value, as upstream.
 */
export type NodeMatcher = (labels: Readonly<Record<string, string>>, name: string) => boolean;

interface Requirement {
  key?: unknown;
  operator?: unknown;
  values?: unknown;
}

export interface NodeSelectorTerm {
  matchExpressions?: Requirement[] | null;
  matchFields?: Requirement[] | null;
}

const hasOwn = Object.prototype.hasOwnProperty;

function label(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  return hasOwn.call(labels, key) ? labels[key] : undefined;
}

const INT = /^[+-]?\d+$/;

function compileExpression(r: Requirement): NodeMatcher | undefined {
  const key = typeof r.key === 'string' ? r.key : '';
  const values = Array.isArray(r.values) ? r.values.map(String) : [];
  switch (r.operator) {
    case 'In': {
      if (values.length === 0) return undefined;
      const set = new Set(values);
      return (ls) => {
        const v = label(ls, key);
        return v !== undefined && set.has(v);
      };
    }
    case 'NotIn': {
      if (values.length === 0) return undefined;
      const set = new Set(values);
      return (ls) => {
        const v = label(ls, key);
        return v === undefined || !set.has(v);
      };
    }
    case 'Exists':
      if (values.length > 0) return undefined;
      return (ls) => label(ls, key) !== undefined;
    case 'DoesNotExist':
      if (values.length > 0) return undefined;
      return (ls) => label(ls, key) === undefined;
    case 'Gt':
    case 'Lt': {
      if (values.length !== 1 || !INT.test(values[0])) return undefined;
      const bound = BigInt(values[0]);
      const gt = r.operator === 'Gt';
      return (ls) => {
        const v = label(ls, key);
        if (v === undefined || !INT.test(v)) return false;
        const n = BigInt(v);
        return gt ? n > bound : n < bound;
      };
    }
    default:
      return undefined;
  }
}

function compileField(r: Requirement): NodeMatcher | undefined {
  const values = Array.isArray(r.values) ? r.values.map(String) : [];
  if (values.length !== 1) return undefined;
  const want = values[0];
  // Nodes have no field but metadata.name: any other key reads as "".
  const isName = r.key === 'metadata.name';
  switch (r.operator) {
    case 'In':
      return isName ? (_ls, name) => name === want : () => want === '';
    case 'NotIn':
      return isName ? (_ls, name) => name !== want : () => want !== '';
    default:
      return undefined;
  }
}

/** A term's matcher, or undefined when the term matches nothing (empty or invalid). */
export function compileTerm(term: NodeSelectorTerm | null | undefined): NodeMatcher | undefined {
  const exprs = Array.isArray(term?.matchExpressions) ? term.matchExpressions : [];
  const fields = Array.isArray(term?.matchFields) ? term.matchFields : [];
  if (exprs.length === 0 && fields.length === 0) return undefined;
  const parts: NodeMatcher[] = [];
  for (const r of exprs) {
    const m = compileExpression(r ?? {});
    if (!m) return undefined;
    parts.push(m);
  }
  for (const r of fields) {
    const m = compileField(r ?? {});
    if (!m) return undefined;
    parts.push(m);
  }
  if (parts.length === 1) return parts[0];
  return (ls, name) => {
    for (let i = 0; i < parts.length; i++) if (!parts[i](ls, name)) return false;
    return true;
  };
}

/** ORed terms; undefined when no term can match (the selector matches nothing). */
export function compileTerms(terms: readonly (NodeSelectorTerm | null | undefined)[]): NodeMatcher {
  const ms = terms.map(compileTerm).filter((m): m is NodeMatcher => m !== undefined);
  if (ms.length === 0) return () => false;
  if (ms.length === 1) return ms[0];
  return (ls, name) => {
    for (let i = 0; i < ms.length; i++) if (ms[i](ls, name)) return true;
    return false;
  };
}

/**
 * The pod's required node selection: `spec.nodeSelector` AND the required node affinity terms.
 * Undefined when the pod has neither (every node matches).
 */
export function requiredNodeAffinity(spec: any): NodeMatcher | undefined {
  const parts: NodeMatcher[] = [];
  const sel = spec?.nodeSelector;
  if (sel && typeof sel === 'object') {
    const entries = Object.entries(sel as Record<string, unknown>).map(([k, v]) => [k, String(v)] as const);
    if (entries.length > 0) {
      parts.push((ls) => {
        for (let i = 0; i < entries.length; i++) if (label(ls, entries[i][0]) !== entries[i][1]) return false;
        return true;
      });
    }
  }
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && typeof required === 'object') {
    parts.push(compileTerms(Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms : []));
  }
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return (ls, name) => parts[0](ls, name) && parts[1](ls, name);
}

/**
 * Node names the pod can only go to, from `matchFields: metadata.name In [...]` in every required
 * term (what DaemonSet pods carry); undefined when some term allows any node. An empty set means the
 * terms contradict each other.
 */
export function requiredNodeNames(spec: any): Set<string> | undefined {
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!Array.isArray(terms)) return undefined;
  let names: Set<string> | undefined;
  for (const t of terms) {
    let termNames: Set<string> | undefined;
    for (const r of Array.isArray(t?.matchFields) ? t.matchFields : []) {
      if (r?.key !== 'metadata.name' || r.operator !== 'In') continue;
      const s = new Set<string>(Array.isArray(r.values) ? r.values.map(String) : []);
      termNames = termNames ? new Set([...termNames].filter((n) => s.has(n))) : s;
    }
    if (!termNames) return undefined;
    names = names ? new Set([...names, ...termNames]) : termNames;
  }
  return names;
}

export interface PreferredTerm {
  weight: number;
  matches: NodeMatcher;
}

/** Preferred node affinity terms with their weights; terms that cannot match are dropped. */
export function preferredNodeAffinity(spec: any): PreferredTerm[] | null {
  const prefs = spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  if (!Array.isArray(prefs)) return null;
  const out: PreferredTerm[] = [];
  for (const p of prefs) {
    const weight = typeof p?.weight === 'number' ? p.weight : 0;
    if (weight === 0) continue;
    const m = compileTerm(p?.preference);
    if (m) out.push({ weight, matches: m });
  }
  return out.length > 0 ? out : null;
}

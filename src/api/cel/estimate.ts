/**
 * A static worst-case cost of a compiled expression, in the spirit of cel-go's cost estimator as
 * Kubernetes uses it: sizes come from the schema (maxItems, maxProperties, maxLength), and where
 * the schema sets no bound, from how many items could fit in the largest request (3 MiB). The
 * numbers are approximations of upstream's (one unit per node, size-proportional functions,
 * comprehensions multiply their body by the size of their range); what matters is that nested
 * loops over unbounded lists are refused at compile time, as upstream refuses them.
 */
import { isNode } from './cost.js';

type Schema = Record<string, any>;

/** Upstream's maxRequestSizeBytes, from which unbounded sizes are estimated. */
export const MAX_REQUEST_SIZE_BYTES = 3 * 1024 * 1024;
const UNBOUNDED_STRING = MAX_REQUEST_SIZE_BYTES - 2;

/** The smallest JSON an item of this schema can take (upstream's estimateMinSizeJSON). */
function minSerializedSize(s: Schema | undefined): number {
  if (!s) return 1;
  if (s['x-kubernetes-int-or-string']) return 1;
  switch (s.type) {
    case 'boolean':
      return 4;
    case 'number':
    case 'integer':
      return 1;
    case 'string':
      return 2 + (typeof s.minLength === 'number' ? s.minLength : 0);
    case 'array':
    case 'object':
      return 2;
    default:
      return 1;
  }
}

/** How many items a list (or entries a map) under this schema can have. */
export function maxCardinality(s: Schema | undefined): number {
  if (!s) return Math.floor((MAX_REQUEST_SIZE_BYTES - 2) / 2);
  if (s.type === 'array') {
    if (typeof s.maxItems === 'number') return s.maxItems;
    return Math.floor((MAX_REQUEST_SIZE_BYTES - 2) / (minSerializedSize(s.items) + 1));
  }
  if (s.type === 'object') {
    if (typeof s.maxProperties === 'number') return s.maxProperties;
    if (s.properties && !s.additionalProperties) return Object.keys(s.properties).length;
    const value = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    // A key takes at least `"":` and a separator.
    return Math.floor((MAX_REQUEST_SIZE_BYTES - 2) / (minSerializedSize(value) + 4));
  }
  if (s.type === 'string') return typeof s.maxLength === 'number' ? s.maxLength : UNBOUNDED_STRING;
  return Math.floor((MAX_REQUEST_SIZE_BYTES - 2) / 2);
}

interface Est {
  cost: number;
  schema?: Schema;
}

const STRING_FUNCTIONS = new Set([
  'contains', 'startsWith', 'endsWith', 'indexOf', 'lastIndexOf', 'lowerAscii', 'upperAscii', 'trim', 'replace', 'split',
  'substring', 'charAt', 'reverse', 'join', 'find', 'findAll', 'format', 'quote', 'url', 'isURL', 'ip', 'isIP', 'cidr',
  'isCIDR', 'quantity', 'isQuantity', 'validate', 'string', 'bytes', 'timestamp', 'duration', 'int', 'double',
]);
const LIST_FUNCTIONS = new Set(['isSorted', 'sum', 'min', 'max']);

function sizeOf(e: Est): number {
  return maxCardinality(e.schema);
}

function memberSchema(s: Schema | undefined, name: string | undefined): Schema | undefined {
  if (!s) return undefined;
  if (s.type === 'array') return s.items;
  if (s.type === 'object') {
    if (name !== undefined && s.properties) {
      for (const k of Object.keys(s.properties)) if (k === name || escape(k) === name) return s.properties[k];
    }
    if (typeof s.additionalProperties === 'object') return s.additionalProperties;
  }
  return undefined;
}

function escape(k: string): string {
  return k.replace(/__/g, '__underscores__').replace(/\./g, '__dot__').replace(/-/g, '__dash__').replace(/\//g, '__slash__');
}

type Scope = ReadonlyMap<string, Schema | undefined>;

function est(node: unknown, scope: Scope): Est {
  if (!isNode(node)) return { cost: 0 };
  const meta = node.meta as { alternate?: unknown; macro?: Record<string, any> };
  if (meta.alternate) return est(meta.alternate, scope);
  const a = node.args as any;
  switch (node.op) {
    case 'value':
      return { cost: 0, schema: typeof a === 'string' ? { type: 'string', maxLength: a.length } : undefined };
    case 'id':
      return { cost: 1, schema: scope.get(a as string) };
    case '.':
    case '.?': {
      const l = est(a[0], scope);
      return { cost: l.cost + 1, schema: memberSchema(l.schema, a[1]) };
    }
    case '[]':
    case '[?]': {
      const l = est(a[0], scope);
      const r = est(a[1], scope);
      const key = isNode(a[1]) && a[1].op === 'value' && typeof a[1].args === 'string' ? (a[1].args as string) : undefined;
      return { cost: l.cost + r.cost + 1, schema: memberSchema(l.schema, key) };
    }
    case 'comprehension': {
      const it = est(a.iterable, scope);
      const n = sizeOf(it);
      const inner = new Map(scope);
      const itemSchema = it.schema?.type === 'array' ? it.schema.items : it.schema?.type === 'object' ? { type: 'string' } : undefined;
      inner.set(a.iterVarName, itemSchema);
      const step = est(a.step, inner);
      const init = est(a.init, scope);
      // map/filter build a list as long as the range; its items are what the step pushes.
      const pushed = isNode(a.step) ? findPushed(a.step, inner) : undefined;
      return { cost: it.cost + init.cost + n * (step.cost + 1), schema: { type: 'array', maxItems: n, items: pushed } };
    }
    case 'accuPush':
      return { cost: est(a, scope).cost + 1 };
    case 'accuValue':
    case 'accuInc':
      return { cost: 1 };
    case '&&':
    case '||':
      return { cost: est(a[0], scope).cost + est(a[1], scope).cost };
    case '?:': {
      const c = est(a[0], scope);
      const l = est(a[1], scope);
      const r = est(a[2], scope);
      return { cost: c.cost + Math.max(l.cost, r.cost), schema: l.cost >= r.cost ? l.schema : r.schema };
    }
    case '!_':
    case '-_':
      return { cost: est(a, scope).cost + 1 };
    case 'list': {
      const items = (a as unknown[]).map((x) => est(x, scope));
      return { cost: items.reduce((s, x) => s + x.cost, 10), schema: { type: 'array', maxItems: items.length, items: items[0]?.schema } };
    }
    case 'map':
      return { cost: (a as unknown[][]).reduce((s, [k, v]) => s + est(k, scope).cost + est(v, scope).cost, 30) };
    case 'call':
    case 'rcall': {
      const name = a[0] as string;
      if (meta.macro) return macroCost(name, meta.macro, scope);
      const receiver = node.op === 'rcall' ? est(a[1], scope) : undefined;
      const args = ((node.op === 'rcall' ? a[2] : a[1]) as unknown[]).map((x) => est(x, scope));
      let cost = 1 + (receiver?.cost ?? 0) + args.reduce((s, x) => s + x.cost, 0);
      const first = receiver ?? args[0];
      if (name === 'matches' && first) cost += Math.ceil(sizeOf(first) * 0.1) * Math.max(1, Math.ceil((args[args.length - 1] ? sizeOf(args[args.length - 1]) : 1) * 0.25));
      else if (STRING_FUNCTIONS.has(name) && first && first.schema?.type === 'string') cost += Math.ceil(sizeOf(first) * 0.1);
      else if ((LIST_FUNCTIONS.has(name) || name === 'indexOf' || name === 'lastIndexOf') && first?.schema?.type === 'array') cost += sizeOf(first);
      else if (receiver?.schema === undefined && name !== 'size' && a[1] && isNode(a[1]) && (a[1] as { op: string }).op === 'id' && ['sets'].includes(a[1].args as string)) {
        cost += args.reduce((p, x) => p * sizeOf(x), 1);
      }
      return { cost };
    }
    default: {
      // Binary operators.
      if (Array.isArray(a) && a.length === 2) {
        const l = est(a[0], scope);
        const r = est(a[1], scope);
        let cost = l.cost + r.cost + 1;
        if (node.op === 'in' && r.schema?.type === 'array') cost += sizeOf(r);
        if ((node.op === '==' || node.op === '!=') && l.schema?.type === 'string') cost += Math.ceil(Math.min(sizeOf(l), sizeOf(r)) * 0.1);
        return { cost, schema: node.op === '+' ? l.schema : undefined };
      }
      return { cost: 1 };
    }
  }
}

function findPushed(step: unknown, scope: Scope): Schema | undefined {
  if (!isNode(step)) return undefined;
  if (step.op === 'accuPush') return est(step.args, scope).schema;
  if (step.op === '?:') return findPushed((step.args as unknown[])[1], scope);
  return undefined;
}

function macroCost(name: string, macro: Record<string, any>, scope: Scope): Est {
  if (name === 'bind') {
    const v = est(macro.val, scope);
    const inner = new Map(scope);
    inner.set(macro.var, v.schema);
    const e = est(macro.exp, inner);
    return { cost: v.cost + e.cost, schema: e.schema };
  }
  if (name === 'has') return { cost: (macro.args as unknown[]).reduce((s: number, x) => s + est(x, scope).cost, 0) };
  let cost = 1;
  for (const k of ['receiver', 'arg']) if (macro[k]) cost += est(macro[k], scope).cost;
  return { cost };
}

/** The estimated worst-case cost of one evaluation, given the schemas of the variables. */
export function estimateCost(ast: unknown, variables: Record<string, Schema | undefined>): number {
  return est(ast, new Map(Object.entries(variables))).cost;
}

/** Upstream's wording of how far a cost is over its limit. */
export function costErrorMessage(costName: string, cost: number, limit: number): string {
  const f = cost / limit;
  const factor = f > 100 ? 'more than 100x' : f < 1.5 ? `${f.toFixed(6)}x` : `${f.toFixed(1)}x`;
  return `${costName} exceeds budget by factor of ${factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`;
}

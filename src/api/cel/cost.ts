/**
 * Cost limits for CEL, as upstream bounds them (k8s.io/apiserver/pkg/apis/cel/config.go):
 * a per-expression limit and a budget shared by every rule run for one object.
 *
 * cel-js has no cost hook, so the runtime cost is counted here instead: every AST node of a compiled
 * expression gets its evaluate function wrapped with a step counter (one unit per node evaluated,
 * so each iteration of a comprehension pays for its body), and the library functions we add charge
 * extra for the size of what they traverse (see `charge`). Evaluation is synchronous, so the active
 * budget is a module-level slot set around each evaluation.
 */

/** Upstream's PerCallLimit: one expression may not cost more than this. */
export const PER_CALL_LIMIT = 1_000_000;
/** Upstream's RuntimeCELCostBudget: every rule run while validating one object shares this. */
export const RUNTIME_CEL_COST_BUDGET = 10_000_000;
/** Upstream's StaticEstimatedCostLimit, per expression (times how often its schema node can occur). */
export const STATIC_ESTIMATED_COST_LIMIT = 10_000_000;
/** Upstream's StaticEstimatedCRDCostLimit, over every rule of one schema. */
export const STATIC_ESTIMATED_CRD_COST_LIMIT = 100_000_000;

/** Thrown when an evaluation exceeds its limit; carries which limit was hit. */
export class CostLimitExceeded extends Error {
  constructor(readonly perCall: boolean) {
    super('operation cancelled: actual cost limit exceeded');
    this.name = 'CostLimitExceeded';
  }
}

/** The cost left for one object's validation (or one admission request's policy evaluation). */
export class CostBudget {
  constructor(public remaining = RUNTIME_CEL_COST_BUDGET) {}
}

interface Meter {
  used: number;
  /** Cost at which to stop: the smaller of the per-call limit and what the budget has left. */
  limit: number;
  perCallLimit: number;
}

let active: Meter | undefined;

function exceeded(m: Meter): never {
  throw new CostLimitExceeded(m.used > m.perCallLimit);
}

/** Library functions call this with the size of what they traverse (upstream's size-based costs). */
export function charge(units: number): void {
  const m = active;
  if (!m) return;
  m.used += units;
  if (m.used > m.limit) exceeded(m);
}

/**
 * Runs `fn` with a meter; returns its result and the cost it used, charged to `budget`. Throws
 * CostLimitExceeded when the per-call limit or the budget runs out.
 */
export function metered<T>(budget: CostBudget | undefined, fn: () => T, perCallLimit = PER_CALL_LIMIT): { value: T; cost: number } {
  const outer = active;
  const remaining = budget ? budget.remaining : Number.MAX_SAFE_INTEGER;
  const m: Meter = { used: 0, limit: Math.min(perCallLimit, remaining), perCallLimit };
  active = m;
  try {
    const value = fn();
    // An error absorbed by || or a quantifier must not turn an exhausted budget into a result.
    if (m.used > m.limit) exceeded(m);
    return { value, cost: m.used };
  } finally {
    active = outer;
    if (budget) budget.remaining = Math.max(0, budget.remaining - m.used);
  }
}

type EvaluateFn = (ev: unknown, ast: unknown, ctx: unknown) => unknown;

interface Node {
  op: string;
  args: unknown;
  meta: { evaluate: EvaluateFn; alternate?: Node; macro?: Record<string, unknown> & { evaluate: EvaluateFn } };
  evaluate: EvaluateFn;
}

export function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && typeof (v as Node).op === 'string' && 'meta' in v && typeof (v as Node).evaluate === 'function';
}

/** Every AST node reachable from `root` after type checking (macro expansions included). */
export function astNodes(root: unknown): Node[] {
  const seen = new Set<Node>();
  const visit = (v: unknown, depth: number): void => {
    if (isNode(v)) {
      if (seen.has(v)) return;
      seen.add(v);
      visit(v.args, 0);
      if (v.meta.alternate) visit(v.meta.alternate, 0);
      if (v.meta.macro) for (const k of Object.keys(v.meta.macro)) visit(v.meta.macro[k], 1);
    } else if (Array.isArray(v)) {
      if (depth > 3) return;
      for (const x of v) visit(x, depth + 1);
    } else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && depth === 0) {
      // A comprehension's arguments: {iterable, init, step, ...}.
      for (const k of Object.keys(v)) visit((v as Record<string, unknown>)[k], 1);
    }
  };
  visit(root, 0);
  return [...seen];
}

/** Makes every evaluation of a node of this (type-checked) AST cost one unit. */
export function instrument(root: unknown): void {
  for (const node of astNodes(root)) {
    const meta = node.meta;
    let inner: EvaluateFn;
    if (meta.alternate) {
      const alt = meta.alternate;
      // The expansion's own nodes are counted; the call that stands for it is free.
      node.evaluate = function (ev, _ast, ctx) {
        return alt.evaluate(ev, alt, ctx);
      };
      continue;
    } else if (meta.macro) {
      const macro = meta.macro;
      inner = (ev, _ast, ctx) => macro.evaluate(ev, macro, ctx);
    } else {
      inner = meta.evaluate;
    }
    node.evaluate = function (this: Node, ev, ast, ctx) {
      const m = active;
      if (m && ++m.used > m.limit) exceeded(m);
      return inner.call(this, ev, ast, ctx);
    };
  }
}

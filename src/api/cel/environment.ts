/**
 * The CEL environment of Kubernetes (k8s.io/apiserver/pkg/cel/environment, library): cel-js's
 * standard library plus what upstream adds, compiled once per variable set; every compiled
 * expression is metered (cost.ts).
 *
 * Covered beyond cel-js's own functions: strings ext (charAt, replace, reverse, format,
 * strings.quote), lists (isSorted, sum, min, max, indexOf, lastIndexOf), sets (contains,
 * equivalent, intersects), regex (find, findAll), url, ip, cidr, quantity, format; optional types
 * (.?field, [?key], optional.of/none, orValue, hasValue, value); has(); cel.bind.
 * Not covered: authorizer library (no `authorizer` variable), semver, math ext, two-variable
 * comprehensions, typed field checks at compile time (variables are `dyn`, so a misspelt field
 * is an evaluation error, not a compilation error as upstream).
 */
import { Environment, EvaluationError, ParseError, TypeError as CelTypeError, type ParseResult } from '@marcbachmann/cel-js';
import { CostBudget, CostLimitExceeded, PER_CALL_LIMIT, instrument, metered } from './cost.js';
import { registerFormat } from './library/format.js';
import { registerLists } from './library/lists.js';
import { registerNetwork } from './library/network.js';
import { registerQuantity } from './library/quantity.js';
import { registerRegex } from './library/regex.js';
import { registerStrings } from './library/strings.js';

export { CostBudget, CostLimitExceeded };

function baseEnvironment(): Environment {
  const env = new Environment({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 10_000, maxDepth: 100 },
  });
  registerStrings(env);
  registerLists(env);
  registerRegex(env);
  registerNetwork(env);
  registerQuantity(env);
  registerFormat(env);
  return env;
}

const BASE = baseEnvironment();

/** An environment with these variables (all `dyn`) on top of the Kubernetes libraries. */
export function celEnvironment(variables: readonly string[]): Environment {
  const env = BASE.clone();
  for (const v of variables) env.registerVariable(v, 'dyn');
  return env;
}

/** A compiled expression: run it with the variables' values, metered against a budget. */
export interface CompiledExpression {
  readonly expression: string;
  /** The checked result type ('bool', 'string', 'dyn', ...). */
  readonly type: string;
  readonly ast: unknown;
  /** Throws CostLimitExceeded, or CelEvaluationError for a runtime error. */
  evaluate(vars: Record<string, unknown>, budget?: CostBudget, perCallLimit?: number): unknown;
}

/** A compile error in upstream's shape: "ERROR: <input>:1:5: <what>" plus the source and a caret. */
export class CelCompileError extends Error {
  constructor(
    message: string,
    readonly summary: string,
  ) {
    super(message);
    this.name = 'CelCompileError';
  }
}

/** A runtime error, worded like cel-go's where the cause is the same. */
export class CelEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelEvaluationError';
  }
}

function location(expr: string, offset: number): { line: number; col: number; text: string } {
  const before = expr.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = expr.indexOf('\n', lineStart);
  return { line, col: offset - lineStart, text: expr.slice(lineStart, lineEnd < 0 ? undefined : lineEnd) };
}

function compileError(expr: string, err: unknown): CelCompileError {
  const e = err as { summary?: string; message?: string; range?: { start: number } };
  const summary = (e.summary ?? e.message ?? String(err)).split('\n')[0];
  const at = e.range?.start ?? 0;
  const loc = location(expr, at);
  const kind = err instanceof ParseError ? 'Syntax error: ' : '';
  return new CelCompileError(`ERROR: <input>:${loc.line}:${loc.col + 1}: ${kind}${summary}\n | ${loc.text}\n | ${'.'.repeat(loc.col)}^`, summary);
}

/** The message of a runtime error without cel-js's source excerpt. */
export function evaluationMessage(err: unknown): string {
  if (err instanceof CostLimitExceeded) return err.message;
  const e = err as { summary?: string; message?: string };
  let m = (e.summary ?? e.message ?? String(err)).split('\n')[0];
  // cel-go's wording for the two errors rules meet most.
  const key = /^No such key: (.*)$/.exec(m);
  if (key) m = `no such key: ${key[1]}`;
  return m;
}

/** Parses, type-checks and instruments; throws CelCompileError. */
export function compileExpression(env: Environment, expression: string): CompiledExpression {
  let parsed: ParseResult;
  try {
    parsed = env.parse(expression);
  } catch (err) {
    throw compileError(expression, err);
  }
  const checked = parsed.check();
  if (!checked.valid) throw compileError(expression, checked.error);
  instrument(parsed.ast);
  return {
    expression,
    type: checked.type ?? 'dyn',
    ast: parsed.ast,
    evaluate(vars, budget, perCallLimit = PER_CALL_LIMIT) {
      try {
        return metered(budget, () => parsed(vars), perCallLimit).value;
      } catch (err) {
        if (err instanceof CostLimitExceeded) throw err;
        if (err instanceof EvaluationError || err instanceof CelTypeError || err instanceof Error) throw new CelEvaluationError(evaluationMessage(err));
        throw new CelEvaluationError(String(err));
      }
    },
  };
}

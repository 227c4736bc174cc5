/**
 * Compiling a ValidatingAdmissionPolicy's expressions (matchConditions, variables, validations,
 * messageExpressions, auditAnnotations) in upstream's admission environment: object, oldObject,
 * request, params, namespaceObject, variables. `authorizer` is not offered (no authorization
 * library), so expressions using it do not compile.
 */
import { celEnvironment, compileExpression, type CompiledExpression } from './environment.js';

export const POLICY_VARIABLES = ['object', 'oldObject', 'request', 'params', 'namespaceObject', 'variables'] as const;

const ENV = celEnvironment(POLICY_VARIABLES);

const compiled = new Map<string, CompiledExpression | Error>();
const MAX_CACHED = 2000;

/** Compiles (cached by text); throws CelCompileError. */
export function compilePolicyExpression(expression: string): CompiledExpression {
  let c = compiled.get(expression);
  if (!c) {
    try {
      c = compileExpression(ENV, expression);
    } catch (err) {
      c = err as Error;
    }
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(expression, c);
  }
  if (c instanceof Error) throw c;
  return c;
}

/** Upstream's compile error text for an admission expression, or undefined when it compiles to `want`. */
export function policyCompileError(expression: string, want: 'bool' | 'string' | 'any'): string | undefined {
  let c: CompiledExpression;
  try {
    c = compilePolicyExpression(expression);
  } catch (err) {
    return `compilation failed: ${(err as Error).message}`;
  }
  if (want !== 'any' && c.type !== want && c.type !== 'dyn') {
    return want === 'bool' ? 'must evaluate to bool' : 'must evaluate to string';
  }
  return undefined;
}

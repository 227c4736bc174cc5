/**
 * x-kubernetes-validations: compiling a CRD version's rules (errors for the CRD write, at upstream's
 * paths and in upstream's words) and running them on custom resources
 * (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go).
 *
 * A schema's rules compile once; the compiled tree is kept per schema object.
 */
import { Optional } from '@marcbachmann/cel-js';
import type { StatusCause } from '../errors.js';
import { causes } from '../errors.js';
import { invalidRaw } from '../validation/util.js';
import {
  CostBudget,
  CostLimitExceeded,
  CelCompileError,
  CelEvaluationError,
  celEnvironment,
  compileExpression,
  type CompiledExpression,
} from './environment.js';
import { astNodes, RUNTIME_CEL_COST_BUDGET, STATIC_ESTIMATED_COST_LIMIT, STATIC_ESTIMATED_CRD_COST_LIMIT } from './cost.js';
import { costErrorMessage, estimateCost, maxCardinality } from './estimate.js';
import { schemaTypeName, schemaValueToCel } from './values.js';

type Schema = Record<string, any>;
type Rule = Record<string, any>;

const ENV = celEnvironment(['self', 'oldSelf']);

/** Upstream's MaxEvaluatedMessageExpressionSizeBytes. */
const MAX_MESSAGE_EXPRESSION_LENGTH = 5 * 1024;

interface CompiledRule {
  rule: Rule;
  program: CompiledExpression;
  message?: CompiledExpression;
  usesOldSelf: boolean;
  optionalOldSelf: boolean;
  /** The rule's fieldPath as a path suffix (".spec.x" → ["spec", "x"] printed upstream's way). */
  fieldPath?: string;
}

interface CompiledNode {
  schema: Schema;
  rules: CompiledRule[];
  properties?: Map<string, CompiledNode>;
  additional?: CompiledNode;
  items?: CompiledNode;
}

function goQuote(s: unknown): string {
  return JSON.stringify(typeof s === 'string' ? s : '');
}

/** The rule as upstream prints it (%#v of apiextensions.ValidationRule) in an Invalid cause. */
function goRule(r: Rule): string {
  const reason = typeof r.reason === 'string' ? '(*apiextensions.FieldValueErrorReason)(0xc000010000)' : '(*apiextensions.FieldValueErrorReason)(nil)';
  const optional = typeof r.optionalOldSelf === 'boolean' ? '(*bool)(0xc000010008)' : '(*bool)(nil)';
  return `apiextensions.ValidationRule{Rule:${goQuote(r.rule)}, Message:${goQuote(r.message)}, MessageExpression:${goQuote(r.messageExpression)}, Reason:${reason}, FieldPath:${goQuote(r.fieldPath)}, OptionalOldSelf:${optional}}`;
}

function usesVariable(ast: unknown, name: string): boolean {
  return astNodes(ast).some((n) => n.op === 'id' && n.args === name);
}

/** ".spec.x['a.b']" → "spec.x[a.b]" (upstream's field.Path rendering); undefined when not a path. */
export function normalizeRuleFieldPath(fp: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < fp.length) {
    if (fp[i] === '.') {
      const m = /^\.([a-zA-Z_][a-zA-Z0-9_-]*)/.exec(fp.slice(i));
      if (!m) return undefined;
      out += out ? `.${m[1]}` : m[1];
      i += m[0].length;
    } else if (fp[i] === '[') {
      const m = /^\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(fp.slice(i)) ?? /^\[\s*(\d+)\s*\]/.exec(fp.slice(i));
      if (!m) return undefined;
      out += `[${m[1]}]`;
      i += m[0].length;
    } else return undefined;
  }
  return out;
}

const compiledTrees = new WeakMap<object, CompiledNode | null>();

function hasRules(s: unknown): boolean {
  return typeof s === 'object' && s !== null && JSON.stringify(s).includes('"x-kubernetes-validations"');
}

/** Compiles (once per schema object) the rules that compile; bad ones are left out. */
function compiledTree(schema: Schema): CompiledNode | null {
  let tree = compiledTrees.get(schema);
  if (tree === undefined) {
    tree = hasRules(schema) ? build(schema) : null;
    compiledTrees.set(schema, tree);
  }
  return tree;
}

function compileRule(rule: Rule): CompiledRule | string {
  if (typeof rule?.rule !== 'string' || rule.rule.trim() === '') return 'rule is not specified';
  let program: CompiledExpression;
  try {
    program = compileExpression(ENV, rule.rule);
  } catch (err) {
    return `compilation failed: ${(err as Error).message}`;
  }
  if (program.type !== 'bool' && program.type !== 'dyn') return 'cel expression must evaluate to a bool';
  let message: CompiledExpression | undefined;
  if (typeof rule.messageExpression === 'string' && rule.messageExpression.trim() !== '') {
    try {
      message = compileExpression(ENV, rule.messageExpression);
    } catch {
      message = undefined;
    }
  }
  const fieldPath = typeof rule.fieldPath === 'string' && rule.fieldPath !== '' ? normalizeRuleFieldPath(rule.fieldPath) : undefined;
  return { rule, program, message, usesOldSelf: usesVariable(program.ast, 'oldSelf'), optionalOldSelf: rule.optionalOldSelf === true, fieldPath };
}

function build(schema: Schema): CompiledNode | null {
  if (!hasRules(schema)) return null;
  const node: CompiledNode = { schema, rules: [] };
  const rules = Array.isArray(schema['x-kubernetes-validations']) ? schema['x-kubernetes-validations'] : [];
  for (const r of rules) {
    const c = compileRule(r);
    if (typeof c !== 'string') node.rules.push(c);
  }
  if (schema.properties && typeof schema.properties === 'object') {
    for (const [k, ps] of Object.entries(schema.properties as Record<string, Schema>)) {
      const child = build(ps);
      if (child) (node.properties ??= new Map()).set(k, child);
    }
  }
  if (typeof schema.additionalProperties === 'object') node.additional = build(schema.additionalProperties) ?? undefined;
  if (typeof schema.items === 'object' && !Array.isArray(schema.items)) node.items = build(schema.items) ?? undefined;
  return node;
}

// ---- compile-time validation of the CRD -------------------------------------------------------

interface RuleCost {
  path: string;
  cost: number;
}

/** Compiles every x-kubernetes-validations rule in a CRD version's schema; errors are causes for CRD validation, at upstream's paths. */
export function compileSchemaRules(schema: Record<string, any>, fieldPath: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const costs: RuleCost[] = [];
  walkSchema(schema, fieldPath, 1, undefined, errs, costs);
  const total = costs.reduce((s, c) => s + c.cost, 0);
  if (total > STATIC_ESTIMATED_CRD_COST_LIMIT) {
    for (const c of costs) {
      if (c.cost > STATIC_ESTIMATED_CRD_COST_LIMIT / 100) {
        errs.push(causes.forbidden(c.path, 'contributed to estimated rule & messageExpression cost total exceeding cost limit for entire OpenAPIv3 schema'));
      }
    }
    errs.push(causes.forbidden(fieldPath, costErrorMessage('x-kubernetes-validations estimated rule & messageExpression cost total for entire OpenAPIv3 schema', total, STATIC_ESTIMATED_CRD_COST_LIMIT)));
  }
  return errs;
}

function walkSchema(s: unknown, path: string, cardinality: number, uncorrelatable: string | undefined, errs: StatusCause[], costs: RuleCost[]): void {
  if (typeof s !== 'object' || s === null) return;
  const schema = s as Schema;
  const rules = schema['x-kubernetes-validations'];
  if (Array.isArray(rules)) {
    rules.forEach((rule: Rule, i: number) => compileRuleCauses(schema, rule, `${path}.x-kubernetes-validations[${i}]`, cardinality, uncorrelatable, errs, costs));
  }
  if (schema.properties && typeof schema.properties === 'object') {
    for (const [k, ps] of Object.entries(schema.properties as Record<string, unknown>)) walkSchema(ps, `${path}.properties[${k}]`, cardinality, uncorrelatable, errs, costs);
  }
  if (typeof schema.additionalProperties === 'object') {
    walkSchema(schema.additionalProperties, `${path}.additionalProperties`, cardinality * maxCardinality({ ...schema, type: 'object' }), uncorrelatable, errs, costs);
  }
  if (typeof schema.items === 'object' && schema.items !== null) {
    const itemsPath = `${path}.items`;
    const correlatable = schema['x-kubernetes-list-type'] === 'map';
    walkSchema(schema.items, itemsPath, cardinality * maxCardinality({ ...schema, type: 'array' }), uncorrelatable ?? (correlatable ? undefined : itemsPath), errs, costs);
  }
}

function compileRuleCauses(
  schema: Schema,
  rule: Rule,
  path: string,
  cardinality: number,
  uncorrelatable: string | undefined,
  errs: StatusCause[],
  costs: RuleCost[],
): void {
  const rulePath = `${path}.rule`;
  const c = compileRule(rule);
  if (c === 'rule is not specified') {
    errs.push(causes.required(rulePath, 'Required value: rule is not specified'));
    return;
  }
  if (typeof c === 'string') {
    errs.push(invalidRaw(rulePath, goRule(rule), c));
    return;
  }
  const vars = { self: schema, oldSelf: schema };
  const ruleCost = estimateCost(c.program.ast, vars) * cardinality;
  if (ruleCost > STATIC_ESTIMATED_COST_LIMIT) {
    errs.push(causes.forbidden(rulePath, costErrorMessage('estimated rule cost', ruleCost, STATIC_ESTIMATED_COST_LIMIT)));
  }
  costs.push({ path: rulePath, cost: ruleCost });
  if (typeof rule.messageExpression === 'string' && rule.messageExpression.trim() !== '') {
    const mePath = `${path}.messageExpression`;
    let me: CompiledExpression | undefined;
    try {
      me = compileExpression(ENV, rule.messageExpression);
    } catch (err) {
      errs.push(invalidRaw(mePath, goRule(rule), `messageExpression compilation failed: ${(err as Error).message}`));
    }
    if (me) {
      if (me.type !== 'string' && me.type !== 'dyn') errs.push(invalidRaw(mePath, goRule(rule), 'messageExpression must evaluate to a string'));
      const meCost = estimateCost(me.ast, vars) * cardinality;
      if (meCost > STATIC_ESTIMATED_COST_LIMIT) {
        errs.push(causes.forbidden(mePath, costErrorMessage('estimated messageExpression cost', meCost, STATIC_ESTIMATED_COST_LIMIT)));
      }
      costs.push({ path: mePath, cost: meCost });
    }
  }
  if (c.usesOldSelf) {
    if (uncorrelatable !== undefined) {
      errs.push(causes.invalid(rulePath, rule.rule, `oldSelf cannot be used on the uncorrelatable portion of the schema within ${uncorrelatable}`));
    }
  } else if (typeof rule.optionalOldSelf === 'boolean') {
    errs.push(causes.invalid(`${path}.optionalOldSelf`, rule.optionalOldSelf, 'may not be set if oldSelf is not used in rule'));
  }
}

// ---- running the rules ------------------------------------------------------------------------

class OutOfBudget extends Error {}

function childPath(parent: string, name: string): string {
  return parent ? `${parent}.${name}` : name;
}

function ruleErrorString(rule: Rule): string {
  return typeof rule.message === 'string' && rule.message.trim() !== '' ? rule.message.trim() : String(rule.rule).trim();
}

function defaultMessage(rule: Rule): string {
  return typeof rule.message === 'string' && rule.message.trim() !== '' ? rule.message.trim() : `failed rule: ${ruleErrorString(rule)}`;
}

function causeForReason(field: string, typeName: string, detail: string, reason: unknown): StatusCause {
  switch (reason) {
    case 'FieldValueForbidden':
      return causes.forbidden(field, detail);
    case 'FieldValueRequired':
      return causes.required(field, `Required value: ${detail}`);
    case 'FieldValueDuplicate':
      return causes.duplicate(field, typeName);
    default:
      return causes.invalid(field, typeName, detail);
  }
}

interface RunState {
  budget: CostBudget;
  errs: StatusCause[];
}

/** Runs the rules on a custom resource; `old` set on update. Returns causes like upstream's. */
export function validateCelRules(obj: unknown, old: unknown | undefined, schema: Record<string, any>): StatusCause[] {
  const tree = compiledTree(schema);
  if (!tree) return [];
  const state: RunState = { budget: new CostBudget(RUNTIME_CEL_COST_BUDGET), errs: [] };
  try {
    validateNode(tree, obj, old, '', state);
  } catch (err) {
    if (!(err instanceof OutOfBudget)) throw err;
  }
  return state.errs;
}

function validateNode(node: CompiledNode, value: unknown, old: unknown, path: string, state: RunState): void {
  if (value === undefined || value === null) return;
  if (node.rules.length) runRules(node, value, old, path, state);
  if (Array.isArray(value)) {
    if (!node.items) return;
    const keys: string[] | undefined = node.schema['x-kubernetes-list-type'] === 'map' ? node.schema['x-kubernetes-list-map-keys'] : undefined;
    const oldItems = Array.isArray(old) && keys ? old : undefined;
    value.forEach((item, i) => {
      const oldItem = oldItems?.find((o) => keys!.every((k) => (o as Record<string, unknown>)?.[k] === (item as Record<string, unknown>)?.[k]));
      validateNode(node.items!, item, oldItem, `${path}[${i}]`, state);
    });
    return;
  }
  if (typeof value !== 'object') return;
  const v = value as Record<string, unknown>;
  const o = old && typeof old === 'object' && !Array.isArray(old) ? (old as Record<string, unknown>) : undefined;
  if (node.properties) {
    for (const [k, child] of node.properties) if (k in v) validateNode(child, v[k], o?.[k], childPath(path, k), state);
  }
  if (node.additional) {
    for (const k of Object.keys(v)) {
      if (node.schema.properties && k in node.schema.properties) continue;
      validateNode(node.additional, v[k], o?.[k], `${path}[${k}]`, state);
    }
  }
}

function runRules(node: CompiledNode, value: unknown, old: unknown, path: string, state: RunState): void {
  const typeName = schemaTypeName(node.schema);
  const fieldOf = (c: CompiledRule) => (c.fieldPath ? (c.fieldPath.startsWith('[') ? `${path}${c.fieldPath}` : childPath(path, c.fieldPath)) : path || '<nil>');
  const selfValue = schemaValueToCel(value, node.schema);
  let oldValue: unknown;
  const hasOld = old !== undefined && old !== null;
  for (const c of node.rules) {
    const vars: Record<string, unknown> = { self: selfValue };
    if (c.usesOldSelf) {
      if (!hasOld && !c.optionalOldSelf) continue;
      if (hasOld) oldValue ??= schemaValueToCel(old, node.schema);
      vars.oldSelf = c.optionalOldSelf ? (hasOld ? Optional.of(oldValue) : Optional.none()) : oldValue;
    } else {
      vars.oldSelf = null;
    }
    const here = path || '<nil>';
    let result: unknown;
    try {
      result = c.program.evaluate(vars, state.budget);
    } catch (err) {
      if (err instanceof CostLimitExceeded) {
        if (!err.perCall || state.budget.remaining <= 0) {
          state.errs.push(causes.invalid(here, typeName, 'validation failed due to running out of cost budget, no further validation rules will be run'));
        } else {
          state.errs.push(
            causes.invalid(here, typeName, `'${err.message}': no further validation rules will be run due to call cost exceeds limit for rule: ${ruleErrorString(c.rule)}`),
          );
        }
        throw new OutOfBudget();
      }
      const msg = err instanceof CelEvaluationError || err instanceof CelCompileError ? err.message : String(err);
      if (msg.startsWith('no such overload')) {
        state.errs.push(causes.invalid(here, typeName, `'${msg}': call arguments did not match a supported operator, function or macro signature for rule: ${ruleErrorString(c.rule)}`));
      } else {
        state.errs.push(causes.invalid(here, typeName, `${msg} evaluating rule: ${ruleErrorString(c.rule)}`));
      }
      continue;
    }
    if (result === true) continue;
    let detail = defaultMessage(c.rule);
    if (c.message) {
      try {
        const m = c.message.evaluate(vars, state.budget);
        if (typeof m === 'string') {
          const trimmed = m.trim();
          if (trimmed.length > MAX_MESSAGE_EXPRESSION_LENGTH) {
            state.errs.push(causes.invalid(here, typeName, `messageExpression beyond allowable length of ${MAX_MESSAGE_EXPRESSION_LENGTH}`));
            continue;
          }
          if (trimmed !== '' && !/[\n\r]/.test(trimmed)) detail = trimmed;
        }
      } catch (err) {
        if (err instanceof CostLimitExceeded) {
          state.errs.push(causes.invalid(here, typeName, 'validation failed due to running out of cost budget, no further validation rules will be run'));
          throw new OutOfBudget();
        }
        // A runtime error in messageExpression falls back to the rule's message (upstream logs it).
      }
    }
    state.errs.push(causeForReason(fieldOf(c), typeName, detail, c.rule.reason));
  }
}

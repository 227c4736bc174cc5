/**
 * ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1):
 * upstream's v1 defaults and the validation users meet (pkg/apis/admissionregistration/validation),
 * including compiling every CEL expression so a policy that cannot run is refused when written.
 */
import { causes } from '../errors.js';
import type { KubeObject, Strategy } from '../types.js';
import { policyCompileError } from '../cel/policy.js';
import { isDNS1123Subdomain, isQualifiedName } from './names.js';
import { arr, isObj, objs, str, validateLabelSelector, type Causes, type Obj } from './util.js';

const FAILURE_POLICIES = ['Fail', 'Ignore'];
const MATCH_POLICIES = ['Equivalent', 'Exact'];
const OPERATIONS = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
const SCOPES = ['*', 'Cluster', 'Namespaced'];
const REASONS = ['Forbidden', 'Invalid', 'RequestEntityTooLarge', 'Unauthorized'];
const VALIDATION_ACTIONS = ['Audit', 'Deny', 'Warn'];
const PARAM_NOT_FOUND_ACTIONS = ['Allow', 'Deny'];
const CEL_IDENTIFIER = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

function specIn(obj: KubeObject): Obj {
  if (!isObj(obj.spec)) obj.spec = {};
  return obj.spec as Obj;
}

function defaultRules(rules: unknown): void {
  for (const r of objs(rules)) if (r.scope === undefined) r.scope = '*';
}

function defaultMatchResources(mr: Obj): void {
  if (mr.namespaceSelector === undefined) mr.namespaceSelector = {};
  if (mr.objectSelector === undefined) mr.objectSelector = {};
  if (mr.matchPolicy === undefined) mr.matchPolicy = 'Equivalent';
  defaultRules(mr.resourceRules);
  defaultRules(mr.excludeResourceRules);
}

function defaultPolicy(obj: KubeObject): void {
  const spec = specIn(obj);
  if (spec.failurePolicy === undefined) spec.failurePolicy = 'Fail';
  if (isObj(spec.matchConstraints)) defaultMatchResources(spec.matchConstraints);
}

function defaultBinding(obj: KubeObject): void {
  const spec = specIn(obj);
  if (isObj(spec.matchResources)) defaultMatchResources(spec.matchResources);
  if (isObj(spec.paramRef) && spec.paramRef.parameterNotFoundAction === undefined) spec.paramRef.parameterNotFoundAction = 'Deny';
}

function validateExpression(expression: unknown, want: 'bool' | 'string' | 'any', field: string, errs: Causes): void {
  if (typeof expression !== 'string' || expression.trim() === '') {
    errs.push(causes.required(field, 'Required value: expression is not specified'));
    return;
  }
  const err = policyCompileError(expression, want);
  if (err) errs.push(causes.invalid(field, expression, err));
}

function validateRule(r: Obj, field: string, errs: Causes, allowResourceNames: boolean): void {
  const ops = arr(r.operations);
  if (ops.length === 0) errs.push(causes.required(`${field}.operations`));
  ops.forEach((o, i) => {
    if (!OPERATIONS.includes(o)) errs.push(causes.notSupported(`${field}.operations[${i}]`, o, OPERATIONS));
  });
  if (ops.length > 1 && ops.includes('*')) errs.push(causes.invalid(`${field}.operations`, ops, 'if \'*\' is present, must not specify other operations'));
  for (const k of ['apiGroups', 'apiVersions', 'resources']) {
    const v = arr(r[k]);
    if (v.length === 0) errs.push(causes.required(`${field}.${k}`));
    else if (v.length > 1 && v.includes('*')) errs.push(causes.invalid(`${field}.${k}`, v, "if '*' is present, must not specify other " + (k === 'apiGroups' ? 'API groups' : k === 'apiVersions' ? 'API versions' : 'resources')));
  }
  arr(r.apiVersions).forEach((v, i) => {
    if (v === '') errs.push(causes.required(`${field}.apiVersions[${i}]`, 'Required value: resource cannot be empty'));
  });
  arr(r.resources).forEach((v, i) => {
    if (v === '') errs.push(causes.required(`${field}.resources[${i}]`));
  });
  if (r.scope !== undefined && !SCOPES.includes(r.scope)) errs.push(causes.notSupported(`${field}.scope`, r.scope, SCOPES));
  if (!allowResourceNames && arr(r.resourceNames).length) errs.push(causes.forbidden(`${field}.resourceNames`, 'must not be set'));
}

function validateMatchResources(mr: Obj, field: string, errs: Causes, requireRules: boolean): void {
  if (mr.matchPolicy !== undefined && !MATCH_POLICIES.includes(mr.matchPolicy)) errs.push(causes.notSupported(`${field}.matchPolicy`, mr.matchPolicy, MATCH_POLICIES));
  if (isObj(mr.namespaceSelector)) validateLabelSelector(mr.namespaceSelector, `${field}.namespaceSelector`, errs);
  if (isObj(mr.objectSelector)) validateLabelSelector(mr.objectSelector, `${field}.objectSelector`, errs);
  const rules = objs(mr.resourceRules);
  if (requireRules && rules.length === 0) errs.push(causes.required(`${field}.resourceRules`));
  rules.forEach((r, i) => validateRule(r, `${field}.resourceRules[${i}]`, errs, true));
  objs(mr.excludeResourceRules).forEach((r, i) => validateRule(r, `${field}.excludeResourceRules[${i}]`, errs, true));
}

function validateMatchConditions(conds: unknown, field: string, errs: Causes): void {
  const seen = new Set<string>();
  objs(conds).forEach((c, i) => {
    const p = `${field}[${i}]`;
    const name = str(c.name);
    if (name === '') errs.push(causes.required(`${p}.name`));
    else {
      for (const m of isQualifiedName(name)) errs.push(causes.invalid(`${p}.name`, name, m));
      if (seen.has(name)) errs.push(causes.duplicate(`${p}.name`, name));
      seen.add(name);
    }
    validateExpression(c.expression, 'bool', `${p}.expression`, errs);
  });
  if (arr(conds).length > 64) errs.push(causes.tooLong(field, 64));
}

function validatePolicy(obj: KubeObject): Causes {
  const errs: Causes = [];
  const spec: Obj = isObj(obj.spec) ? obj.spec : {};
  const p = 'spec';
  if (spec.failurePolicy !== undefined && !FAILURE_POLICIES.includes(spec.failurePolicy)) errs.push(causes.notSupported(`${p}.failurePolicy`, spec.failurePolicy, FAILURE_POLICIES));
  if (isObj(spec.paramKind)) {
    const pk = spec.paramKind;
    if (str(pk.kind) === '') errs.push(causes.required(`${p}.paramKind.kind`));
    const av = str(pk.apiVersion);
    if (av === '') errs.push(causes.required(`${p}.paramKind.apiVersion`));
    else {
      const parts = av.split('/');
      if (parts.length > 2 || (parts.length === 2 && isDNS1123Subdomain(parts[0]).length > 0) || parts[parts.length - 1] === '') {
        errs.push(causes.invalid(`${p}.paramKind.apiVersion`, av, 'apiVersion must be a valid group version'));
      }
    }
  }
  if (!isObj(spec.matchConstraints)) errs.push(causes.required(`${p}.matchConstraints`));
  else validateMatchResources(spec.matchConstraints, `${p}.matchConstraints`, errs, true);
  validateMatchConditions(spec.matchConditions, `${p}.matchConditions`, errs);
  const varNames = new Set<string>();
  objs(spec.variables).forEach((v, i) => {
    const vp = `${p}.variables[${i}]`;
    const name = str(v.name);
    if (name === '') errs.push(causes.required(`${vp}.name`));
    else if (!CEL_IDENTIFIER.test(name)) errs.push(causes.invalid(`${vp}.name`, name, 'name is not a valid CEL identifier'));
    else if (varNames.has(name)) errs.push(causes.duplicate(`${vp}.name`, name));
    varNames.add(name);
    validateExpression(v.expression, 'any', `${vp}.expression`, errs);
  });
  const validations = objs(spec.validations);
  const audits = objs(spec.auditAnnotations);
  if (validations.length === 0 && audits.length === 0) {
    const detail = 'Required value: validations or auditAnnotations must contain at least one item';
    errs.push(causes.required(`${p}.validations`, detail), causes.required(`${p}.auditAnnotations`, detail));
  }
  validations.forEach((v, i) => {
    const vp = `${p}.validations[${i}]`;
    validateExpression(v.expression, 'bool', `${vp}.expression`, errs);
    if (typeof v.message === 'string' && /[\n\r]/.test(v.message)) errs.push(causes.invalid(`${vp}.message`, v.message, 'message must not contain line breaks'));
    if (typeof v.message === 'string' && v.message.trim() === '' && v.message !== '') errs.push(causes.invalid(`${vp}.message`, v.message, 'message must be non-empty if specified'));
    if (v.reason !== undefined && !REASONS.includes(v.reason)) errs.push(causes.notSupported(`${vp}.reason`, v.reason, REASONS));
    if (typeof v.messageExpression === 'string' && v.messageExpression !== '') validateExpression(v.messageExpression, 'string', `${vp}.messageExpression`, errs);
  });
  const keys = new Set<string>();
  audits.forEach((a, i) => {
    const ap = `${p}.auditAnnotations[${i}]`;
    const key = str(a.key);
    if (key === '') errs.push(causes.required(`${ap}.key`));
    else {
      const full = `${obj.metadata?.name ?? ''}/${key}`;
      for (const m of isQualifiedName(full)) errs.push(causes.invalid(`${ap}.key`, key, m));
      if (keys.has(key)) errs.push(causes.duplicate(`${ap}.key`, key));
      keys.add(key);
    }
    validateExpression(a.valueExpression, 'any', `${ap}.valueExpression`, errs);
  });
  return errs;
}

function validateBinding(obj: KubeObject): Causes {
  const errs: Causes = [];
  const spec: Obj = isObj(obj.spec) ? obj.spec : {};
  const p = 'spec';
  if (str(spec.policyName) === '') errs.push(causes.required(`${p}.policyName`));
  else for (const m of isDNS1123Subdomain(spec.policyName)) errs.push(causes.invalid(`${p}.policyName`, spec.policyName, m));
  if (isObj(spec.matchResources)) validateMatchResources(spec.matchResources, `${p}.matchResources`, errs, false);
  if (isObj(spec.paramRef)) {
    const pr = spec.paramRef;
    const rp = `${p}.paramRef`;
    const hasName = str(pr.name) !== '';
    const hasSelector = isObj(pr.selector);
    if (hasName && hasSelector) errs.push(causes.forbidden(`${rp}.name`, 'name and selector are mutually exclusive'));
    if (!hasName && !hasSelector) errs.push(causes.required(rp, 'Required value: one of name or selector must be specified'));
    if (hasSelector) validateLabelSelector(pr.selector, `${rp}.selector`, errs);
    if (typeof pr.namespace === 'string' && pr.namespace !== '') {
      for (const m of isDNS1123Subdomain(pr.namespace)) errs.push(causes.invalid(`${rp}.namespace`, pr.namespace, m));
    }
    if (pr.parameterNotFoundAction === undefined) errs.push(causes.required(`${rp}.parameterNotFoundAction`));
    else if (!PARAM_NOT_FOUND_ACTIONS.includes(pr.parameterNotFoundAction)) {
      errs.push(causes.notSupported(`${rp}.parameterNotFoundAction`, pr.parameterNotFoundAction, PARAM_NOT_FOUND_ACTIONS));
    }
  }
  const actions = arr(spec.validationActions);
  const seen = new Set<string>();
  actions.forEach((a, i) => {
    if (seen.has(a)) errs.push(causes.duplicate(`${p}.validationActions[${i}]`, a));
    seen.add(a);
    if (!VALIDATION_ACTIONS.includes(a)) errs.push(causes.notSupported(`${p}.validationActions[${i}]`, a, VALIDATION_ACTIONS));
  });
  if (seen.has('Deny') && seen.has('Warn')) errs.push(causes.invalid(`${p}.validationActions`, actions, 'must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)'));
  if (seen.size === 0) errs.push(causes.required(`${p}.validationActions`, 'Required value: at least one validation action is required'));
  return errs;
}

export const admissionPolicyStrategies: Record<string, Strategy> = {
  'ValidatingAdmissionPolicy.admissionregistration.k8s.io': {
    default: defaultPolicy,
    validate: (obj) => validatePolicy(obj),
    prepareForCreate(obj) {
      delete obj.status;
    },
    prepareForUpdate(obj, old) {
      obj.status = old.status;
    },
  },
  'ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io': {
    default: defaultBinding,
    validate: (obj) => validateBinding(obj),
  },
};

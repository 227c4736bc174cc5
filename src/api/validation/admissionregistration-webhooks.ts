/**
 * MutatingWebhookConfiguration and ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1):
 * upstream's v1 defaults and its validation (pkg/apis/admissionregistration/validation), including
 * the relaxations on update that keep objects stored by older servers editable.
 */
import { causes } from '../errors.js';
import { compilePolicyExpression, policyCompileError } from '../cel/policy.js';
import { jsonToCel } from '../cel/values.js';
import type { KubeObject, Strategy } from '../types.js';
import { isDNS1035Label, isDNS1123Subdomain, isValidPortNum } from './names.js';
import { arr, child, goStringSlice, index, invalidRaw, isObj, objs, str, validateLabelSelector, validateQualifiedName, type Causes, type Obj } from './util.js';

const FAILURE_POLICIES = ['Fail', 'Ignore'];
const MATCH_POLICIES = ['Equivalent', 'Exact'];
const SIDE_EFFECTS = ['None', 'NoneOnDryRun', 'Some', 'Unknown'];
const NO_SIDE_EFFECTS = ['None', 'NoneOnDryRun'];
const OPERATIONS = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
const REINVOCATION_POLICIES = ['IfNeeded', 'Never'];
const SCOPES = ['*', 'Cluster', 'Namespaced'];
/** The AdmissionReview versions this server sends (the first one a webhook lists is used). */
export const ADMISSION_REVIEW_VERSIONS = ['v1', 'v1beta1'];
const MAX_MATCH_CONDITIONS = 64;

// ---- defaults (pkg/apis/admissionregistration/v1/defaults.go) --------------------------------

function defaultWebhook(h: Obj, mutating: boolean): void {
  h.failurePolicy ??= 'Fail';
  h.matchPolicy ??= 'Equivalent';
  h.namespaceSelector ??= {};
  h.objectSelector ??= {};
  h.timeoutSeconds ??= 10;
  if (mutating) h.reinvocationPolicy ??= 'Never';
  for (const r of objs(h.rules)) r.scope ??= '*';
  const svc = isObj(h.clientConfig) && isObj(h.clientConfig.service) ? h.clientConfig.service : undefined;
  if (svc) svc.port ??= 443;
}

function defaultConfiguration(obj: KubeObject, mutating: boolean): void {
  for (const h of objs(obj.webhooks)) defaultWebhook(h, mutating);
}

// ---- match conditions ------------------------------------------------------------------------

export interface CompiledMatchCondition {
  name: string;
  /** Evaluates against `object`, `oldObject`, `request` (and `authorizer`, which is not offered yet). */
  evaluate(vars: Record<string, unknown>): unknown;
}

/**
 * matchConditions compile in the admission-policy CEL environment (Kubernetes libraries, cost
 * limits); `authorizer` is not offered yet, so expressions using it fail to compile.
 */
export function compileMatchCondition(name: string, expression: string): CompiledMatchCondition | { error: string } {
  const problem = policyCompileError(expression, 'bool');
  if (problem) return { error: problem };
  const program = compilePolicyExpression(expression);
  return {
    name,
    evaluate: (vars) => program.evaluate(Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v === null || v === undefined ? null : jsonToCel(v)]))),
  };
}

// ---- validation --------------------------------------------------------------------------------

interface Options {
  requireNoSideEffects: boolean;
  requireRecognizedAdmissionReviewVersion: boolean;
  requireUniqueWebhookNames: boolean;
  /** Unchanged matchConditions of a stored object are not compiled again. */
  ignoreMatchConditions: boolean;
}

function isFullyQualifiedName(value: string, field: string, errs: Causes): void {
  if (value === '') {
    errs.push(causes.required(field));
    return;
  }
  const bad = isDNS1123Subdomain(value);
  if (bad.length > 0) errs.push(causes.invalid(field, value, bad.join(',')));
  else if (value.split('.').length < 3) errs.push(causes.invalid(field, value, 'should be a domain with at least three segments separated by dots'));
}

function validateResources(resources: string[], field: string, errs: Causes): void {
  if (resources.length === 0) errs.push(causes.required(field, 'Required value'));
  const withWildcardSub = new Set<string>();
  const subWithWildcardRes = new Set<string>();
  let doubleWildcard = false;
  let singleWildcard = false;
  let plainResource = false;
  resources.forEach((resSub, i) => {
    if (resSub === '') {
      errs.push(causes.required(index(field, i)));
      return;
    }
    if (resSub === '*/*') doubleWildcard = true;
    if (resSub === '*') singleWildcard = true;
    const slash = resSub.indexOf('/');
    if (slash < 0) {
      plainResource = resSub !== '*';
      return;
    }
    const res = resSub.slice(0, slash);
    const sub = resSub.slice(slash + 1);
    if (withWildcardSub.has(res)) errs.push(causes.invalid(index(field, i), resSub, `if '${res}/*' is present, must not specify ${resSub}`));
    if (subWithWildcardRes.has(sub)) errs.push(causes.invalid(index(field, i), resSub, `if '*/${sub}' is present, must not specify ${resSub}`));
    if (sub === '*') withWildcardSub.add(res);
    if (res === '*') subWithWildcardRes.add(sub);
  });
  if (resources.length > 1 && doubleWildcard) errs.push(invalidRaw(field, goStringSlice(resources), "if '*/*' is present, must not specify other resources"));
  if (singleWildcard && plainResource) errs.push(invalidRaw(field, goStringSlice(resources), "if '*' is present, must not specify other resources without subresources"));
}

function validateRule(rule: Obj, field: string, errs: Causes): void {
  const ops = arr(rule.operations).map(String);
  if (ops.length === 0) errs.push(causes.required(child(field, 'operations')));
  if (ops.length > 1 && ops.includes('*')) {
    errs.push(invalidRaw(child(field, 'operations'), `[]admissionregistration.OperationType{${ops.map((o) => JSON.stringify(o)).join(', ')}}`, "if '*' is present, must not specify other operations"));
  }
  ops.forEach((op, i) => {
    if (!OPERATIONS.includes(op)) errs.push(causes.notSupported(index(child(field, 'operations'), i), op, OPERATIONS));
  });
  const groups = arr(rule.apiGroups).map(String);
  if (groups.length === 0) errs.push(causes.required(child(field, 'apiGroups')));
  if (groups.length > 1 && groups.includes('*')) errs.push(invalidRaw(child(field, 'apiGroups'), goStringSlice(groups), "if '*' is present, must not specify other API groups"));
  const versions = arr(rule.apiVersions).map(String);
  if (versions.length === 0) errs.push(causes.required(child(field, 'apiVersions')));
  if (versions.length > 1 && versions.includes('*')) errs.push(invalidRaw(child(field, 'apiVersions'), goStringSlice(versions), "if '*' is present, must not specify other API versions"));
  versions.forEach((v, i) => {
    if (v === '') errs.push(causes.required(index(child(field, 'apiVersions'), i)));
  });
  validateResources(arr(rule.resources).map(String), child(field, 'resources'), errs);
  if (rule.scope !== undefined && rule.scope !== null && !SCOPES.includes(rule.scope)) errs.push(causes.notSupported(child(field, 'scope'), rule.scope, SCOPES));
}

function validateWebhookUrl(url: string, field: string, errs: Causes): void {
  const form = '; desired format: https://host[/path]';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    errs.push(causes.required(field, `Required value: url must be a valid URL: parse ${JSON.stringify(url)}: invalid URI for request${form}`));
    return;
  }
  if (u.protocol !== 'https:') errs.push(causes.invalid(field, u.protocol.replace(/:$/, ''), `'https' is the only allowed URL scheme${form}`));
  if (u.host === '') errs.push(causes.invalid(field, u.host, `host must be provided${form}`));
  if (u.username || u.password) errs.push(causes.invalid(field, u.password ? `${u.username}:xxxxx` : u.username, 'user information is not permitted in the URL'));
  if (u.hash.length > 1) errs.push(causes.invalid(field, u.hash.slice(1), 'fragments are not permitted in the URL'));
  if (u.search.length > 1) errs.push(causes.invalid(field, u.search.slice(1), 'query parameters are not permitted in the URL'));
}

function validateWebhookService(svc: Obj, field: string, errs: Causes): void {
  if (!str(svc.name)) errs.push(causes.required(child(field, 'name'), 'Required value: service name is required'));
  if (!str(svc.namespace)) errs.push(causes.required(child(field, 'namespace'), 'Required value: service namespace is required'));
  const port = typeof svc.port === 'number' ? svc.port : 443;
  const bad = isValidPortNum(port);
  if (bad.length > 0) errs.push(causes.invalid(child(field, 'port'), port, `port is not valid: ${bad.join(', ')}`));
  if (svc.path === undefined || svc.path === null) return;
  const path = str(svc.path);
  if (path === '/' || path === '') return;
  const p = child(field, 'path');
  if (path === '//') {
    errs.push(causes.invalid(p, path, 'segment[0] may not be empty'));
    return;
  }
  if (!path.startsWith('/')) errs.push(causes.invalid(p, path, "must start with a '/'"));
  let rest = path.slice(1);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  rest.split('/').forEach((step, i) => {
    if (step === '') {
      errs.push(causes.invalid(p, path, `segment[${i}] may not be empty`));
      return;
    }
    for (const m of isDNS1123Subdomain(step)) errs.push(causes.invalid(p, path, `segment[${i}]: ${m}`));
  });
}

function validateMatchConditions(conditions: Obj[], field: string, errs: Causes): void {
  if (conditions.length > MAX_MATCH_CONDITIONS) errs.push({ reason: 'FieldValueTooMany', message: `Too many: ${conditions.length}: must have at most ${MAX_MATCH_CONDITIONS} items`, field });
  const names = new Set<string>();
  conditions.forEach((mc, i) => {
    const p = index(field, i);
    const expression = str(mc.expression).trim();
    if (expression === '') errs.push(causes.required(child(p, 'expression')));
    else {
      const compiled = compileMatchCondition(str(mc.name), expression);
      if ('error' in compiled) errs.push(causes.invalid(child(p, 'expression'), expression, compiled.error));
    }
    const name = str(mc.name);
    if (name === '') errs.push(causes.required(child(p, 'name')));
    else {
      validateQualifiedName(name, child(p, 'name'), errs);
      if (names.has(name)) errs.push(causes.duplicate(child(p, 'name'), name));
      names.add(name);
    }
  });
}

function validateAdmissionReviewVersions(versions: string[], required: boolean, field: string, errs: Causes): void {
  if (versions.length === 0) {
    errs.push(causes.required(field, `Required value: must specify one of ${ADMISSION_REVIEW_VERSIONS.join(', ')}`));
    return;
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    if (seen.has(v)) {
      errs.push(causes.invalid(index(field, i), v, 'duplicate version'));
      return;
    }
    seen.add(v);
    for (const m of isDNS1035Label(v)) errs.push(causes.invalid(index(field, i), v, m));
  });
  if (required && !versions.some((v) => ADMISSION_REVIEW_VERSIONS.includes(v))) {
    errs.push(invalidRaw(field, goStringSlice(versions), `must include at least one of ${ADMISSION_REVIEW_VERSIONS.join(', ')}`));
  }
}

function validateWebhook(h: Obj, mutating: boolean, opts: Options, field: string, errs: Causes): void {
  isFullyQualifiedName(str(h.name), child(field, 'name'), errs);
  objs(h.rules).forEach((r, i) => validateRule(r, index(child(field, 'rules'), i), errs));
  if (h.failurePolicy != null && !FAILURE_POLICIES.includes(h.failurePolicy)) errs.push(causes.notSupported(child(field, 'failurePolicy'), h.failurePolicy, FAILURE_POLICIES));
  if (h.matchPolicy != null && !MATCH_POLICIES.includes(h.matchPolicy)) errs.push(causes.notSupported(child(field, 'matchPolicy'), h.matchPolicy, MATCH_POLICIES));
  const allowed = opts.requireNoSideEffects ? NO_SIDE_EFFECTS : SIDE_EFFECTS;
  if (h.sideEffects == null) errs.push(causes.required(child(field, 'sideEffects'), `Required value: must specify one of ${allowed.join(', ')}`));
  else if (!allowed.includes(h.sideEffects)) errs.push(causes.notSupported(child(field, 'sideEffects'), h.sideEffects, allowed));
  if (typeof h.timeoutSeconds === 'number' && (h.timeoutSeconds > 30 || h.timeoutSeconds < 1)) {
    errs.push(causes.invalid(child(field, 'timeoutSeconds'), h.timeoutSeconds, 'the timeout value must be between 1 and 30 seconds'));
  }
  if (h.namespaceSelector != null) validateLabelSelector(h.namespaceSelector, child(field, 'namespaceSelector'), errs);
  if (h.objectSelector != null) validateLabelSelector(h.objectSelector, child(field, 'objectSelector'), errs);
  if (mutating && h.reinvocationPolicy != null && !REINVOCATION_POLICIES.includes(h.reinvocationPolicy)) {
    errs.push(causes.notSupported(child(field, 'reinvocationPolicy'), h.reinvocationPolicy, REINVOCATION_POLICIES));
  }
  const cc: Obj = isObj(h.clientConfig) ? h.clientConfig : {};
  const ccField = child(field, 'clientConfig');
  const hasUrl = cc.url != null;
  const hasService = cc.service != null;
  if (hasUrl === hasService) errs.push(causes.required(ccField, 'Required value: exactly one of url or service is required'));
  else if (hasUrl) validateWebhookUrl(str(cc.url), child(ccField, 'url'), errs);
  else validateWebhookService(isObj(cc.service) ? cc.service : {}, child(ccField, 'service'), errs);
  if (!opts.ignoreMatchConditions) validateMatchConditions(objs(h.matchConditions), child(field, 'matchConditions'), errs);
}

function validateConfiguration(obj: KubeObject, mutating: boolean, opts: Options): Causes {
  const errs: Causes = [];
  const names = new Set<string>();
  objs(obj.webhooks).forEach((h, i) => {
    const p = index('webhooks', i);
    validateWebhook(h, mutating, opts, p, errs);
    validateAdmissionReviewVersions(arr(h.admissionReviewVersions).map(String), opts.requireRecognizedAdmissionReviewVersion, child(p, 'admissionReviewVersions'), errs);
    const name = str(h.name);
    if (opts.requireUniqueWebhookNames && name !== '') {
      if (names.has(name)) errs.push(causes.duplicate(child(p, 'name'), name));
      names.add(name);
    }
  });
  return errs;
}

/** Upstream's update options: what the stored object already got away with stays allowed. */
function updateOptions(obj: KubeObject, old: KubeObject): Options {
  const hooks = objs(old.webhooks);
  const names = hooks.map((h) => str(h.name));
  const newHooks = objs(obj.webhooks);
  return {
    requireNoSideEffects: hooks.every((h) => NO_SIDE_EFFECTS.includes(h.sideEffects)),
    requireRecognizedAdmissionReviewVersion: hooks.every((h) => {
      const v = arr(h.admissionReviewVersions);
      return v.length === 0 || v.some((x) => ADMISSION_REVIEW_VERSIONS.includes(x));
    }),
    requireUniqueWebhookNames: new Set(names).size === names.length,
    ignoreMatchConditions: newHooks.length === hooks.length && newHooks.every((h, i) => JSON.stringify(h.matchConditions ?? null) === JSON.stringify(hooks[i].matchConditions ?? null)),
  };
}

const CREATE_OPTIONS: Options = { requireNoSideEffects: true, requireRecognizedAdmissionReviewVersion: true, requireUniqueWebhookNames: true, ignoreMatchConditions: false };

function webhookConfigurationStrategy(mutating: boolean): Strategy {
  return {
    default: (obj) => defaultConfiguration(obj, mutating),
    validate: (obj, old) => validateConfiguration(obj, mutating, old ? updateOptions(obj, old) : CREATE_OPTIONS),
  };
}

export const admissionRegistrationWebhookStrategies: Record<string, Strategy> = {
  'MutatingWebhookConfiguration.admissionregistration.k8s.io': webhookConfigurationStrategy(true),
  'ValidatingWebhookConfiguration.admissionregistration.k8s.io': webhookConfigurationStrategy(false),
};

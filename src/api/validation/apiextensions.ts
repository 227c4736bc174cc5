/**
 * CustomResourceDefinition (apiextensions.k8s.io/v1): upstream's SetDefaults, registry
 * PrepareForCreate/PrepareForUpdate and ValidateCustomResourceDefinition(Update).
 *
 * Upstream validates the internal type, converted from v1, and its field paths show it: when all
 * versions share one schema (or subresources, printer columns, selectable fields), conversion
 * moves it to the top level, so errors name "spec.validation.openAPIV3Schema...",
 * "spec.subresources...", "spec.additionalPrinterColumns[0].JSONPath"; otherwise they name the
 * version ("spec.versions[1].schema.openAPIV3Schema..."). The conversion webhook settings are
 * "spec.conversion.webhookClientConfig" and "spec.conversion.conversionReviewVersions" there.
 */
import { isStructural, validateStructuralSchema } from '../crd/structural.js';
import { compileSchemaRules } from '../cel/crd-rules.js';
import { fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, fieldTooMany, goValue } from '../crd/gofmt.js';
import type { StatusCause } from '../errors.js';
import type { KubeObject, Strategy } from '../types.js';
import { isDNS1035Label, isDNS1123Subdomain, isValidPortNum } from './names.js';
import { ensureObj, isObj, metaOf, objs, semanticEqual, specOf, str, type Causes, type Obj } from './util.js';

function hasRules(s: unknown): boolean {
  if (Array.isArray(s)) return s.some(hasRules);
  if (!isObj(s)) return false;
  if (Array.isArray(s['x-kubernetes-validations']) && s['x-kubernetes-validations'].length > 0) return true;
  return Object.entries(s).some(([k, v]) => k !== 'default' && k !== 'enum' && k !== 'example' && typeof v === 'object' && hasRules(v));
}

// ---- helpers ----

const child = (p: string, k: string): string => (p ? `${p}.${k}` : k);
const index = (p: string, i: number): string => `${p}[${i}]`;

function goStrings(v: string[]): string {
  return `[]string{${v.map((s) => JSON.stringify(s)).join(', ')}}`;
}

/** How upstream prints spec.versions in messages: a Go struct dump; we print its identifying fields. */
function goVersions(versions: Obj[]): string {
  return `[]apiextensions.CustomResourceDefinitionVersion{${versions
    .map((v) => `apiextensions.CustomResourceDefinitionVersion{Name:${JSON.stringify(str(v.name))}, Served:${v.served === true}, Storage:${v.storage === true}, ...}`)
    .join(', ')}}`;
}

function invalidRaw(field: string, printed: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${printed}: ${detail}`, field };
}

function joinErrs(errs: string[]): string {
  return errs.join(',');
}

/** A version's part, or the top-level one when conversion to the internal type hoists identical parts. */
interface Layout {
  schemaHoisted: boolean;
  subresourcesHoisted: boolean;
  columnsHoisted: boolean;
  selectableHoisted: boolean;
}

function layoutOf(versions: Obj[]): Layout {
  const same = (k: string): boolean => versions.length > 0 && versions.every((v) => semanticEqual(v[k], versions[0][k]));
  return {
    schemaHoisted: same('schema'),
    subresourcesHoisted: same('subresources'),
    columnsHoisted: same('additionalPrinterColumns'),
    selectableHoisted: same('selectableFields'),
  };
}

// ---- names ----

function validateNames(names: Obj, p: string, errs: Causes): void {
  const plural = str(names.plural);
  const singular = str(names.singular);
  const kind = str(names.kind);
  const listKind = str(names.listKind);
  if (plural !== '') {
    const e = isDNS1035Label(plural);
    if (e.length > 0) errs.push(fieldInvalid(child(p, 'plural'), plural, joinErrs(e)));
  }
  if (singular !== '') {
    const e = isDNS1035Label(singular);
    if (e.length > 0) errs.push(fieldInvalid(child(p, 'singular'), singular, joinErrs(e)));
  }
  if (kind !== '') {
    const e = isDNS1035Label(kind.toLowerCase());
    if (e.length > 0) errs.push(fieldInvalid(child(p, 'kind'), kind, 'may have mixed case, but should otherwise match: ' + joinErrs(e)));
  }
  if (listKind !== '') {
    const e = isDNS1035Label(listKind.toLowerCase());
    if (e.length > 0) errs.push(fieldInvalid(child(p, 'listKind'), listKind, 'may have mixed case, but should otherwise match: ' + joinErrs(e)));
  }
  (Array.isArray(names.shortNames) ? names.shortNames : []).forEach((s: unknown, i: number) => {
    const e = isDNS1035Label(str(s));
    if (e.length > 0) errs.push(fieldInvalid(index(child(p, 'shortNames'), i), str(s), joinErrs(e)));
  });
  if (kind !== '' && kind === listKind) errs.push(fieldInvalid(child(p, 'listKind'), listKind, 'kind and listKind may not be the same'));
  (Array.isArray(names.categories) ? names.categories : []).forEach((c: unknown, i: number) => {
    const e = isDNS1035Label(str(c));
    if (e.length > 0) errs.push(fieldInvalid(index(child(p, 'categories'), i), str(c), joinErrs(e)));
  });
}

// ---- printer columns, subresources, selectable fields ----

const PRINTER_COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const PRINTER_COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];

function validateSimpleJSONPath(s: string, p: string, errs: Causes): boolean {
  if (s === '') errs.push(fieldInvalid(p, s, 'must not be empty'));
  else if (s[0] !== '.') errs.push(fieldInvalid(p, s, 'must be a simple json path starting with .'));
  else return true;
  return false;
}

function validateColumn(col: Obj, p: string, errs: Causes): void {
  if (str(col.name) === '') errs.push(fieldRequired(child(p, 'name')));
  const type = str(col.type);
  if (type === '') errs.push(fieldRequired(child(p, 'type'), `must be one of ${PRINTER_COLUMN_TYPES.join(',')}`));
  else if (!PRINTER_COLUMN_TYPES.includes(type)) errs.push(fieldInvalid(child(p, 'type'), type, `must be one of ${PRINTER_COLUMN_TYPES.join(',')}`));
  const format = str(col.format);
  if (format !== '' && !PRINTER_COLUMN_FORMATS.includes(format)) errs.push(fieldInvalid(child(p, 'format'), format, `must be one of ${PRINTER_COLUMN_FORMATS.join(',')}`));
  const jsonPath = str(col.jsonPath);
  if (jsonPath === '') errs.push(fieldRequired(child(p, 'JSONPath')));
  else validateSimpleJSONPath(jsonPath, child(p, 'JSONPath'), errs);
}

function validateSubresources(sub: unknown, p: string, errs: Causes): void {
  if (!isObj(sub) || !isObj(sub.scale)) return;
  const scale = sub.scale;
  const spec = str(scale.specReplicasPath);
  if (spec === '') errs.push(fieldRequired(child(p, 'scale.specReplicasPath')));
  else if (validateSimpleJSONPath(spec, child(p, 'scale.specReplicasPath'), errs) && !spec.startsWith('.spec.')) {
    errs.push(fieldInvalid(child(p, 'scale.specReplicasPath'), spec, 'should be a json path under .spec'));
  }
  const status = str(scale.statusReplicasPath);
  if (status === '') errs.push(fieldRequired(child(p, 'scale.statusReplicasPath')));
  else if (validateSimpleJSONPath(status, child(p, 'scale.statusReplicasPath'), errs) && !status.startsWith('.status.')) {
    errs.push(fieldInvalid(child(p, 'scale.statusReplicasPath'), status, 'should be a json path under .status'));
  }
  const sel = str(scale.labelSelectorPath);
  if (sel !== '' && validateSimpleJSONPath(sel, child(p, 'scale.labelSelectorPath'), errs) && !sel.startsWith('.spec.') && !sel.startsWith('.status.')) {
    errs.push(fieldInvalid(child(p, 'scale.labelSelectorPath'), sel, 'should be a json path under either .spec or .status'));
  }
}

const MAX_SELECTABLE_FIELDS = 8;

/** cel.ValidFieldPath without array notation: the schema node a ".a.b" path names, or its error. */
function resolveFieldPath(jsonPath: string, schema: Obj): { path: string; node?: Obj; error?: string } {
  const tokens = jsonPath.split(/([.[\]])/).filter((t) => t !== '');
  let node: Obj | undefined = schema;
  let path = '';
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok === '[') return { path, error: 'array notation is not allowed' };
    if (tok !== '.') return { path, error: `expected [ or . but got: ${tok}` };
    if (i + 1 >= tokens.length) return { path, error: 'unexpected end of JSON path' };
    const name = tokens[++i];
    if (isObj(node?.properties)) {
      path = child(path, name);
      const next: unknown = node.properties[name];
      if (!isObj(next)) return { path, error: 'does not refer to a valid field' };
      node = next;
    } else if (node && node.additionalProperties !== undefined && node.additionalProperties !== null) {
      path = `${path}[${name}]`;
      node = isObj(node.additionalProperties) ? node.additionalProperties : undefined;
    } else return { path, error: 'does not refer to a valid field' };
  }
  return { path, node };
}

function validateSelectableFields(fields: Obj[], schema: unknown, p: string, errs: Causes): void {
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    const ip = child(index(p, i), 'jsonPath');
    const jsonPath = str(f.jsonPath);
    if (jsonPath === '') {
      errs.push(fieldRequired(ip));
      return;
    }
    const r = resolveFieldPath(jsonPath, isObj(schema) ? schema : {});
    if (r.error) {
      errs.push(fieldInvalid(ip, jsonPath, `is an invalid path: ${r.error}`));
      return;
    }
    if (r.path.split(/[.[]/)[0] === 'metadata') errs.push(fieldInvalid(ip, jsonPath, 'must not point to fields in metadata'));
    const t = r.node?.type;
    if (t !== 'string' && t !== 'boolean' && t !== 'integer') {
      errs.push(fieldInvalid(ip, jsonPath, 'must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.'));
    }
    if (seen.has(r.path)) errs.push(fieldDuplicate(ip, jsonPath));
    else seen.add(r.path);
  });
  if (seen.size > MAX_SELECTABLE_FIELDS) errs.push(fieldTooMany(p, seen.size, MAX_SELECTABLE_FIELDS));
}

// ---- schemas ----

/** Fields allowed at the schema root when the status subresource is enabled (upstream's Go field names, in JSON). */
const ALLOWED_AT_ROOT_WITH_STATUS = new Set([
  'description',
  'type',
  'format',
  'title',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'required',
  'items',
  'properties',
  'externalDocs',
  'example',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-validations',
]);
const ALLOWED_AT_ROOT_PRINTED =
  '[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations]';

function isZero(v: unknown): boolean {
  return v === undefined || v === null || v === false || v === '' || v === 0 || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
}

/** validateCustomResourceDefinitionValidation for one schema at `p` (".../schema" or "spec.validation"). */
function validateSchema(validation: unknown, statusEnabled: boolean, p: string, errs: Causes): void {
  if (!isObj(validation) || !isObj(validation.openAPIV3Schema)) return;
  const schema = validation.openAPIV3Schema;
  const start = errs.length;
  if (statusEnabled) {
    for (const [k, v] of Object.entries(schema)) {
      if (isZero(v)) continue;
      if (k === 'type') {
        if (v !== 'object') {
          errs.push(fieldInvalid(child(p, 'openAPIV3Schema.type'), v, 'only "object" is allowed as the type at the root of the schema if the status subresource is enabled'));
          break;
        }
        continue;
      }
      if (!ALLOWED_AT_ROOT_WITH_STATUS.has(k)) {
        errs.push(invalidRaw(child(p, 'openAPIV3Schema'), 'apiextensions.JSONSchemaProps{...}', `only ${ALLOWED_AT_ROOT_PRINTED} fields are allowed at the root of the schema if the status subresource is enabled`));
        break;
      }
    }
  }
  const schemaPath = child(p, 'openAPIV3Schema');
  errs.push(...validateStructuralSchema(schema, schemaPath));
  // CEL rules compile only for an otherwise valid, structural schema.
  // Upstream compiles the CEL rules of a schema only when it is otherwise valid.
  if (errs.length === start && hasRules(schema) && isStructural(schema)) errs.push(...compileSchemaRules(schema, schemaPath));
}

// ---- conversion ----

const CONVERSION_REVIEW_VERSIONS = ['v1', 'v1beta1'];

function validateWebhookURL(u: string, p: string, errs: Causes): void {
  const form = '; desired format: https://host[/path]';
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(u);
  if (u.startsWith(':')) {
    errs.push(fieldRequired(p, `url must be a valid URL: parse ${JSON.stringify(u)}: missing protocol scheme${form}`));
    return;
  }
  const scheme = m ? m[1].toLowerCase() : '';
  let rest = m ? m[2] : u;
  let fragment = '';
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let host = '';
  let user: string | undefined;
  if (rest.startsWith('//')) {
    const authority = rest.slice(2).split('/')[0];
    const at = authority.lastIndexOf('@');
    if (at >= 0) user = authority.slice(0, at);
    host = at >= 0 ? authority.slice(at + 1) : authority;
  }
  if (scheme !== 'https') errs.push(fieldInvalid(p, scheme, `'https' is the only allowed URL scheme${form}`));
  if (host === '') errs.push(fieldInvalid(p, host, `host must be specified${form}`));
  if (user !== undefined) errs.push(fieldInvalid(p, user, 'user information is not permitted in the URL'));
  if (fragment !== '') errs.push(fieldInvalid(p, fragment, 'fragments are not permitted in the URL'));
  if (query !== '') errs.push(fieldInvalid(p, query, 'query parameters are not permitted in the URL'));
}

function validateWebhookService(svc: Obj, p: string, errs: Causes): void {
  // Upstream passes the service's name and namespace in swapped argument positions, so each
  // missing one is reported under the other's field; we report what it reports.
  if (str(svc.namespace) === '') errs.push(fieldRequired(child(p, 'name'), 'service name is required'));
  if (str(svc.name) === '') errs.push(fieldRequired(child(p, 'namespace'), 'service namespace is required'));
  const port = typeof svc.port === 'number' ? svc.port : 443;
  const pe = isValidPortNum(port);
  if (pe.length > 0) errs.push(fieldInvalid(child(p, 'port'), port, 'port is not valid: ' + pe.join(', ')));
  if (typeof svc.path !== 'string') return;
  const urlPath = svc.path;
  if (urlPath === '/' || urlPath === '') return;
  if (urlPath === '//') {
    errs.push(fieldInvalid(child(p, 'path'), urlPath, 'segment[0] may not be empty'));
    return;
  }
  if (!urlPath.startsWith('/')) errs.push(fieldInvalid(child(p, 'path'), urlPath, "must start with a '/'"));
  let check = urlPath.slice(1);
  if (check.endsWith('/')) check = check.slice(0, -1);
  check.split('/').forEach((step, i) => {
    if (step === '') {
      errs.push(fieldInvalid(child(p, 'path'), urlPath, `segment[${i}] may not be empty`));
      return;
    }
    for (const f of isDNS1123Subdomain(step)) errs.push(fieldInvalid(child(p, 'path'), urlPath, `segment[${i}]: ${f}`));
  });
}

function validateConversion(conv: unknown, p: string, errs: Causes): void {
  if (!isObj(conv)) return;
  const strategy = str(conv.strategy);
  if (strategy === '') errs.push(fieldRequired(child(p, 'strategy')));
  else if (strategy !== 'None' && strategy !== 'Webhook') errs.push(fieldNotSupported(child(p, 'strategy'), strategy, ['None', 'Webhook']));
  const webhook = isObj(conv.webhook) ? conv.webhook : undefined;
  const cc = webhook && isObj(webhook.clientConfig) ? webhook.clientConfig : undefined;
  const reviewVersions: unknown[] | undefined = webhook && Array.isArray(webhook.conversionReviewVersions) ? webhook.conversionReviewVersions : undefined;
  if (strategy === 'Webhook') {
    const ccPath = child(p, 'webhookClientConfig');
    if (!cc) errs.push(fieldRequired(ccPath, 'required when strategy is set to Webhook'));
    else {
      const hasURL = typeof cc.url === 'string';
      const hasService = isObj(cc.service);
      if (hasURL === hasService) errs.push(fieldRequired(ccPath, 'exactly one of url or service is required'));
      else if (hasURL) validateWebhookURL(cc.url, child(ccPath, 'url'), errs);
      else validateWebhookService(cc.service, child(ccPath, 'service'), errs);
    }
    const rp = child(p, 'conversionReviewVersions');
    const versions = (reviewVersions ?? []).map(str);
    if (versions.length === 0) errs.push(fieldRequired(rp));
    else {
      const seen = new Set<string>();
      let accepted = false;
      versions.forEach((v, i) => {
        if (seen.has(v)) {
          errs.push(fieldInvalid(index(rp, i), v, 'duplicate version'));
          return;
        }
        seen.add(v);
        for (const e of isDNS1035Label(v)) errs.push(fieldInvalid(index(rp, i), v, e));
        if (CONVERSION_REVIEW_VERSIONS.includes(v)) accepted = true;
      });
      if (!accepted) errs.push(invalidRaw(rp, goStrings(versions), `must include at least one of ${CONVERSION_REVIEW_VERSIONS.join(', ')}`));
    }
  } else {
    if (cc) errs.push(fieldForbidden(child(p, 'webhookClientConfig'), 'should not be set when strategy is not set to Webhook'));
    if (reviewVersions && reviewVersions.length > 0) errs.push(fieldForbidden(child(p, 'conversionReviewVersions'), 'should not be set when strategy is not set to Webhook'));
  }
}

// ---- deprecation warnings ----

function validateDeprecationWarning(v: Obj, p: string, errs: Causes): void {
  const w = v.deprecationWarning;
  if (v.deprecated !== true && typeof w === 'string') {
    errs.push(fieldInvalid(child(p, 'deprecationWarning'), w, 'can only be set for deprecated versions'));
    return;
  }
  if (typeof w !== 'string') return;
  const bad = (d: string): number => errs.push(fieldInvalid(child(p, 'deprecationWarning'), w, d));
  if (Buffer.byteLength(w) > 256) bad('must be <= 256 characters long');
  if (w.length === 0) bad('must not be an empty string');
  // unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
  let byte = 0;
  for (const ch of w) {
    if (/[\p{C}\p{Z}]/u.test(ch) && ch !== ' ') {
      bad(`must only contain printable UTF-8 characters; non-printable character found at index ${byte}`);
      break;
    }
    byte += Buffer.byteLength(ch);
  }
}

// ---- the spec ----

function storageVersion(spec: Obj): string | undefined {
  const v = objs(spec.versions).find((x) => x.storage === true);
  return v ? str(v.name) : undefined;
}

function validateSpec(spec: Obj, errs: Causes): void {
  const p = 'spec';
  const group = str(spec.group);
  if (group === '') errs.push(fieldRequired(child(p, 'group')));
  else {
    const e = isDNS1123Subdomain(group);
    if (e.length > 0) errs.push(fieldInvalid(child(p, 'group'), group, joinErrs(e)));
    else if (group.split('.').length < 2) errs.push(fieldInvalid(child(p, 'group'), group, 'should be a domain with at least one dot'));
  }
  const scope = str(spec.scope);
  if (scope === '') errs.push(fieldRequired(child(p, 'scope')));
  else if (scope !== 'Cluster' && scope !== 'Namespaced') errs.push(fieldNotSupported(child(p, 'scope'), scope, ['Cluster', 'Namespaced']));

  const versions = objs(spec.versions);
  const layout = layoutOf(versions);
  const vp = (i: number): string => index(child(p, 'versions'), i);

  // Every version needs a schema (the shared one counts for all).
  if (!(layout.schemaHoisted && versions.length > 0 && isObj(versions[0].schema) && isObj(versions[0].schema.openAPIV3Schema))) {
    versions.forEach((v, i) => {
      if (!isObj(v.schema) || !isObj(v.schema.openAPIV3Schema)) errs.push(fieldRequired(child(child(vp(i), 'schema'), 'openAPIV3Schema'), 'schemas are required'));
    });
  }

  const statusOf = (v: Obj): boolean => isObj(v.subresources) && isObj(v.subresources.status);
  let storageCount = 0;
  const seen = new Set<string>();
  let unique = true;
  versions.forEach((v, i) => {
    if (v.storage === true) storageCount++;
    const name = str(v.name);
    if (seen.has(name)) unique = false;
    seen.add(name);
    const e = isDNS1035Label(name);
    if (e.length > 0) errs.push(fieldInvalid(child(vp(i), 'name'), name, joinErrs(e)));
    // validateCustomResourceDefinitionVersion: what is per version after conversion.
    validateDeprecationWarning(v, vp(i), errs);
    if (!layout.schemaHoisted) validateSchema(v.schema, statusOf(v), child(vp(i), 'schema'), errs);
    if (!layout.subresourcesHoisted) validateSubresources(v.subresources, child(vp(i), 'subresources'), errs);
    if (!layout.columnsHoisted) objs(v.additionalPrinterColumns).forEach((c, j) => validateColumn(c, index(child(vp(i), 'additionalPrinterColumns'), j), errs));
    if (!layout.selectableHoisted && Array.isArray(v.selectableFields) && v.selectableFields.length > 0) {
      if (!isObj(v.schema) || !isObj(v.schema.openAPIV3Schema) || layout.schemaHoisted) {
        errs.push(fieldInvalid(child(vp(i), 'selectableFields'), '', 'selectableFields may only be set when version.schema.openAPIV3Schema is not included'));
      } else validateSelectableFields(objs(v.selectableFields), v.schema.openAPIV3Schema, child(vp(i), 'selectableFields'), errs);
    }
  });
  if (!unique) errs.push(invalidRaw(child(p, 'versions'), goVersions(versions), 'must contain unique version names'));
  if (storageCount !== 1) errs.push(invalidRaw(child(p, 'versions'), goVersions(versions), 'must have exactly one version marked as storage version'));
  // Conversion copies versions[0].name to the internal spec.version, which is validated again.
  if (versions.length > 0 && str(versions[0].name) !== '') {
    const first = str(versions[0].name);
    const e = isDNS1035Label(first);
    if (e.length > 0) errs.push(fieldInvalid(child(p, 'version'), first, joinErrs(e)));
  }

  const names: Obj = isObj(spec.names) ? spec.names : {};
  for (const k of ['plural', 'singular', 'kind', 'listKind']) if (str(names[k]) === '') errs.push(fieldRequired(child(child(p, 'names'), k)));
  validateNames(names, child(p, 'names'), errs);

  const first = versions[0];
  if (first) {
    if (layout.schemaHoisted) validateSchema(first.schema, versions.some(statusOf), child(p, 'validation'), errs);
    if (layout.subresourcesHoisted) validateSubresources(first.subresources, child(p, 'subresources'), errs);
    if (layout.columnsHoisted) objs(first.additionalPrinterColumns).forEach((c, j) => validateColumn(c, index(child(p, 'additionalPrinterColumns'), j), errs));
    if (layout.selectableHoisted && Array.isArray(first.selectableFields) && first.selectableFields.length > 0) {
      if (!layout.schemaHoisted || !isObj(first.schema) || !isObj(first.schema.openAPIV3Schema)) {
        errs.push(fieldInvalid(child(p, 'selectableFields'), '', 'selectableFields may only be set when validations.schema is included'));
      } else validateSelectableFields(objs(first.selectableFields), first.schema.openAPIV3Schema, child(p, 'selectableFields'), errs);
    }
  }

  const conv = spec.conversion;
  if (isObj(conv) && str(conv.strategy) !== 'None' && spec.preserveUnknownFields === true) {
    errs.push(fieldInvalid(child(child(p, 'conversion'), 'strategy'), str(conv.strategy), 'must be None if spec.preserveUnknownFields is true'));
  }
  validateConversion(conv, child(p, 'conversion'), errs);
}

function validateStoredVersions(stored: unknown, versions: Obj[], errs: Causes): void {
  const p = 'status.storedVersions';
  const list = Array.isArray(stored) ? stored.map(str) : [];
  if (list.length === 0) {
    errs.push(invalidRaw(p, Array.isArray(stored) ? goStrings([]) : '[]string(nil)', 'must have at least one stored version'));
    return;
  }
  const remaining = new Map<string, number>();
  list.forEach((v, i) => remaining.set(v, i));
  for (const v of versions) {
    const name = str(v.name);
    if (v.storage === true && !remaining.has(name) && !list.includes(name)) errs.push(invalidRaw(p, goStrings(list), 'must have the storage version ' + name));
    remaining.delete(name);
  }
  for (const [v, i] of remaining) errs.push(fieldInvalid(index(p, i), v, 'must appear in spec.versions'));
}

const API_APPROVED = 'api-approved.kubernetes.io';

function isProtectedGroup(group: string): boolean {
  return group === 'k8s.io' || group.endsWith('.k8s.io') || group === 'kubernetes.io' || group.endsWith('.kubernetes.io');
}

function approvalState(annotations: unknown): { state: 'missing' | 'bypassed' | 'approved' | 'invalid'; reason: string } {
  const a = isObj(annotations) ? str(annotations[API_APPROVED]) : '';
  if (a === '') return { state: 'missing', reason: `protected groups must have approval annotation "${API_APPROVED}", see https://github.com/kubernetes/enhancements/pull/1111` };
  if (a.startsWith('unapproved')) return { state: 'bypassed', reason: `not approved: ${JSON.stringify(a)}` };
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]+)/.exec(a);
  if (m && m[1] !== '') return { state: 'approved', reason: `approved in ${a}` };
  return {
    state: 'invalid',
    reason: `protected groups must have approval annotation "${API_APPROVED}" with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111`,
  };
}

function validateAPIApproval(obj: KubeObject, old: KubeObject | undefined, errs: Causes): void {
  if (!isProtectedGroup(str(specOf(obj).group))) return;
  const next = approvalState(metaOf(obj).annotations);
  if (old && approvalState(metaOf(old).annotations).state === next.state) return;
  const field = `metadata.annotations[${API_APPROVED}]`;
  if (next.state === 'missing') errs.push(fieldRequired(field, next.reason));
  else if (next.state === 'invalid') errs.push(fieldInvalid(field, str(metaOf(obj).annotations?.[API_APPROVED]), next.reason));
}

function validatePreserveUnknownFields(obj: KubeObject, old: KubeObject | undefined, errs: Causes): void {
  if (old && isObj(old.spec) && old.spec.preserveUnknownFields === true) return;
  if (specOf(obj).preserveUnknownFields === true) {
    errs.push(fieldInvalid('spec.preserveUnknownFields', true, 'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead'));
  }
}

function isEstablished(obj: KubeObject): boolean {
  const conds = isObj(obj.status) ? objs(obj.status.conditions) : [];
  return conds.some((c) => c.type === 'Established' && c.status === 'True');
}

function immutableField(next: unknown, prev: unknown, field: string, errs: Causes): void {
  if (semanticEqual(next, prev)) return;
  errs.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${goValue(next ?? '')}: field is immutable`, field });
}

function validateStatusNames(obj: KubeObject, errs: Causes): void {
  const status: Obj = isObj(obj.status) ? obj.status : {};
  validateNames(isObj(status.acceptedNames) ? status.acceptedNames : {}, 'status.acceptedNames', errs);
}

export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

export const customResourceDefinitionStrategy: Strategy = {
  prepareForDelete(obj) {
    // Upstream's CRD REST delete: its objects go first (the CRD finalizer controller deletes them).
    const meta = metaOf(obj);
    if (!(meta.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) meta.finalizers = [...(meta.finalizers ?? []), CRD_CLEANUP_FINALIZER];
    const status = ensureObj(obj, 'status');
    const old = objs(status.conditions).find((c) => c.type === 'Terminating');
    if (!old || old.status !== 'True') {
      status.conditions = [
        ...objs(status.conditions).filter((c) => c.type !== 'Terminating'),
        {
          type: 'Terminating',
          status: 'True',
          lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
          reason: 'InstanceDeletionPending',
          message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon',
        },
      ];
    }
  },
  /** SetDefaults_CustomResourceDefinition (v1). */
  default(obj) {
    const spec = specOf(obj);
    const names = ensureObj(spec, 'names');
    const kind = str(names.kind);
    if (str(names.singular) === '') names.singular = kind.toLowerCase();
    if (str(names.listKind) === '' && kind !== '') names.listKind = `${kind}List`;
    if (!isObj(spec.conversion)) spec.conversion = { strategy: 'None' };
    const svc = isObj(spec.conversion.webhook) && isObj(spec.conversion.webhook.clientConfig) ? spec.conversion.webhook.clientConfig.service : undefined;
    if (isObj(svc) && (svc.port === undefined || svc.port === null)) svc.port = 443;
    const status = isObj(obj.status) ? obj.status : undefined;
    if (status && (!Array.isArray(status.storedVersions) || status.storedVersions.length === 0)) {
      const storage = storageVersion(spec);
      if (storage !== undefined) status.storedVersions = [storage];
    }
  },
  prepareForCreate(obj) {
    const storage = storageVersion(specOf(obj));
    obj.status = { acceptedNames: { kind: '', plural: '' }, storedVersions: storage !== undefined ? [storage] : [] };
  },
  /** A new storage version is recorded in status.storedVersions when the spec changes (main-resource writes). */
  prepareForUpdate(obj, old) {
    if (semanticEqual(obj.spec, old.spec)) return;
    const storage = storageVersion(specOf(obj));
    if (storage === undefined) return;
    const status = ensureObj(obj, 'status');
    const stored: unknown[] = Array.isArray(status.storedVersions) ? status.storedVersions : [];
    if (!stored.includes(storage)) status.storedVersions = [...stored, storage];
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec = specOf(obj);
    const names: Obj = isObj(spec.names) ? spec.names : {};
    const name = str(metaOf(obj).name);
    if (!old && name !== `${str(names.plural)}.${str(spec.group)}`) errs.push(fieldInvalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
    validateSpec(spec, errs);
    if (old) {
      const os = specOf(old);
      const oldNames: Obj = isObj(os.names) ? os.names : {};
      if (isEstablished(old)) {
        immutableField(spec.scope, os.scope, 'spec.scope', errs);
        immutableField(names.kind, oldNames.kind, 'spec.names.kind', errs);
      }
      immutableField(spec.group, os.group, 'spec.group', errs);
      immutableField(names.plural, oldNames.plural, 'spec.names.plural', errs);
    }
    validateStatusNames(obj, errs);
    validateStoredVersions(isObj(obj.status) ? obj.status.storedVersions : undefined, objs(spec.versions), errs);
    validateAPIApproval(obj, old, errs);
    validatePreserveUnknownFields(obj, old, errs);
    return errs;
  },
  validateStatusUpdate(obj) {
    const errs: Causes = [];
    validateStatusNames(obj, errs);
    return errs;
  },
};

/**
 * certificates.k8s.io/v1 CertificateSigningRequest: upstream's strategy (pkg/registry/certificates)
 * and validation (pkg/apis/certificates/validation). The spec is the request and who made it
 * (filled from the requesting user at create, immutable after); status.conditions change only
 * through /approval (Approved, Denied) or /status (Failed and the like); status.certificate only
 * through /status, once approved.
 */
import { causes } from '../errors.js';
import type { KubeObject, Strategy } from '../types.js';
import { parseCertificateRequest } from '../../pki/pkcs10.js';
import { isDNS1123Subdomain } from './names.js';
import { arr, invalidRaw, isObj, objs, str, type Causes, type Obj } from './util.js';

export const APPROVED = 'Approved';
export const DENIED = 'Denied';
export const FAILED = 'Failed';

/** Every key usage certificates.k8s.io/v1 knows, in upstream's order. */
export const KEY_USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
];

function specIn(obj: KubeObject): Obj {
  return isObj(obj.spec) ? obj.spec : {};
}
function statusIn(obj: KubeObject): Obj {
  return isObj(obj.status) ? obj.status : {};
}

/** The PEM text of spec.request (a []byte, so base64 in JSON). */
export function requestPem(obj: KubeObject): string {
  return Buffer.from(str(specIn(obj).request), 'base64').toString('utf8');
}

/** Upstream's ValidateSignerName: `<DNS subdomain>/<path>`. */
function validateSignerName(signerName: unknown, errs: Causes): void {
  const field = 'spec.signerName';
  const name = str(signerName);
  if (name === '') {
    errs.push(causes.required(field));
    return;
  }
  const slash = name.indexOf('/');
  if (slash === -1) {
    errs.push(causes.invalid(field, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'"));
    return;
  }
  const domain = name.slice(0, slash);
  const path = name.slice(slash + 1);
  for (const m of isDNS1123Subdomain(domain)) errs.push(causes.invalid(field, name, `validating ${JSON.stringify(domain)}: ${m}`));
  if (path === '') errs.push(causes.invalid(field, name, 'validating path: must not be empty'));
  else if (!/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/.test(path)) {
    errs.push(causes.invalid(field, name, `validating ${JSON.stringify(path)}: must consist of alphanumeric characters, '-', '_', '/' or '.', and must start and end with an alphanumeric character`));
  }
  if (name.length > 571) errs.push(causes.tooLong(field, 571));
}

function validateConditions(status: Obj, errs: Causes): void {
  const seen = new Set<string>();
  objs(status.conditions).forEach((c, i) => {
    const p = `status.conditions[${i}]`;
    const type = str(c.type);
    if (type === '') errs.push(causes.required(`${p}.type`));
    if ((type === APPROVED || type === DENIED || type === FAILED) && seen.has(type)) errs.push(causes.duplicate(`${p}.type`, type));
    seen.add(type);
    if (type === APPROVED || type === DENIED) {
      if (c.status !== 'True') errs.push(causes.notSupported(`${p}.status`, c.status, ['True']));
    } else if (!['True', 'False', 'Unknown'].includes(str(c.status))) {
      errs.push(causes.notSupported(`${p}.status`, c.status, ['False', 'True', 'Unknown']));
    }
  });
  if (seen.has(APPROVED) && seen.has(DENIED)) errs.push(causes.invalid('status.conditions', '', 'Approved and Denied conditions are mutually exclusive'));
}

/** status.certificate: one or more CERTIFICATE PEM blocks and nothing else (upstream's validateCertificate). */
function validateCertificate(status: Obj, errs: Causes): void {
  const raw = str(status.certificate);
  if (raw === '') return;
  const field = 'status.certificate';
  const text = Buffer.from(raw, 'base64').toString('utf8');
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
  if (blocks.length === 0) {
    errs.push(invalidRaw(field, '"<certificate data>"', 'must contain at least one CERTIFICATE PEM block'));
    return;
  }
  for (const b of blocks) {
    if (b[1] !== 'CERTIFICATE') errs.push(invalidRaw(field, '"<certificate data>"', `only CERTIFICATE PEM blocks are allowed, found ${JSON.stringify(b[1])}`));
  }
  const last = blocks[blocks.length - 1];
  if (text.slice(last.index! + last[0].length).trim() !== '') errs.push(invalidRaw(field, '"<certificate data>"', 'extra data after last PEM block'));
}

export function hasCondition(obj: KubeObject, type: string): boolean {
  return objs(statusIn(obj).conditions).some((c) => c.type === type && c.status === 'True');
}

function validateCsr(obj: KubeObject, old: KubeObject | undefined): Causes {
  const errs: Causes = [];
  const spec = specIn(obj);
  try {
    parseCertificateRequest(requestPem(obj));
  } catch (err) {
    errs.push(invalidRaw('spec.request', '[]byte{...}', (err as Error).message));
  }
  const usages = arr(spec.usages);
  if (usages.length === 0) errs.push(causes.required('spec.usages', 'Required value: usages must be provided'));
  const seen = new Set<string>();
  const oldUsages = new Set(arr(old ? specIn(old).usages : []));
  usages.forEach((u, i) => {
    if (!KEY_USAGES.includes(u)) errs.push(causes.notSupported(`spec.usages[${i}]`, u, KEY_USAGES));
    else if (seen.has(u) && !oldUsages.has(u)) errs.push(causes.duplicate(`spec.usages[${i}]`, u));
    seen.add(u);
  });
  validateSignerName(spec.signerName, errs);
  if (typeof spec.expirationSeconds === 'number' && spec.expirationSeconds < 600) {
    errs.push(causes.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
  }
  const status = statusIn(obj);
  validateConditions(status, errs);
  validateCertificate(status, errs);
  return errs;
}

function validateStatusUpdate(obj: KubeObject, old: KubeObject): Causes {
  const errs = validateCsr(obj, old);
  const cert = str(statusIn(obj).certificate);
  const oldCert = str(statusIn(old).certificate);
  if (oldCert !== '' && cert !== oldCert) errs.push(causes.forbidden('status.certificate', 'updates may not modify existing certificate content'));
  if (cert !== '' && oldCert === '') {
    if (!hasCondition(obj, APPROVED)) errs.push(invalidRaw('status.certificate', '"<certificate data>"', 'certificate may only be set if the Approved condition is true'));
    if (hasCondition(obj, FAILED)) errs.push(invalidRaw('status.certificate', '"<certificate data>"', 'certificate may not be set if the Failed condition is true'));
  }
  // Once decided, a request stays decided (upstream refuses removing Approved or Denied).
  for (const type of [APPROVED, DENIED]) {
    if (hasCondition(old, type) && !hasCondition(obj, type)) errs.push(causes.forbidden('status.conditions', `updates may not remove a condition of type ${JSON.stringify(type)}`));
  }
  return errs;
}

function nowRfc3339(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Fills the times of conditions that have none, keeping a transition time while a condition's status holds. */
function populateConditionTimestamps(obj: KubeObject, old: KubeObject | undefined): void {
  const status = statusIn(obj);
  if (!Array.isArray(status.conditions)) return;
  const now = nowRfc3339();
  const before = new Map(objs(old ? statusIn(old).conditions : []).map((c) => [str(c.type), c]));
  for (const c of objs(status.conditions)) {
    if (!c.lastUpdateTime) c.lastUpdateTime = now;
    if (!c.lastTransitionTime) {
      const prev = before.get(str(c.type));
      c.lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    }
  }
}

export const certificatesStrategies: Record<string, Strategy> = {
  'CertificateSigningRequest.certificates.k8s.io': {
    default(obj) {
      // v1 defaulting: a condition without a status is True.
      for (const c of objs(statusIn(obj).conditions)) if (c.status === undefined || c.status === '') c.status = 'True';
    },
    prepareForCreate(obj, user) {
      const spec: Obj = isObj(obj.spec) ? obj.spec : (obj.spec = {});
      delete spec.username;
      delete spec.uid;
      delete spec.groups;
      delete spec.extra;
      if (user) {
        spec.username = user.name;
        if (user.uid) spec.uid = user.uid;
        if (user.groups.length > 0) spec.groups = [...user.groups];
        if (user.extra && Object.keys(user.extra).length > 0) spec.extra = Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]]));
      }
      delete obj.status;
    },
    prepareForUpdate(obj, old) {
      // The request and who made it never change.
      obj.spec = structuredClone(old.spec);
      populateConditionTimestamps(obj, old);
    },
    validate: validateCsr,
    validateStatusUpdate,
  },
};

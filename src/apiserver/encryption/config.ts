/**
 * EncryptionConfiguration (apiserver.config.k8s.io/v1): which resources are encrypted at rest, and
 * with which providers and keys. Validation messages are upstream's (validation_encryption.go), so an
 * operator's file is refused by skiff for the same reasons and in the same words as by kube-apiserver.
 *
 * Supported providers: aesgcm, aescbc, identity. secretbox needs XSalsa20-Poly1305, which node:crypto
 * lacks; kms needs a plugin over gRPC. Both are refused with a clear error rather than half-done.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { aesProvider, identityProvider, type Provider } from './providers.js';

export interface EncryptionKey {
  name?: string;
  secret?: string;
}

export interface ProviderConfiguration {
  aesgcm?: { keys?: EncryptionKey[] };
  aescbc?: { keys?: EncryptionKey[] };
  secretbox?: { keys?: EncryptionKey[] };
  identity?: Record<string, never>;
  kms?: Record<string, unknown>;
}

export interface ResourceConfiguration {
  resources?: string[];
  providers?: ProviderConfiguration[];
}

export interface EncryptionConfiguration {
  apiVersion?: string;
  kind?: string;
  resources?: ResourceConfiguration[];
}

export interface GroupResource {
  group: string;
  resource: string;
}

/** Upstream's schema.ParseGroupResource: the resource is up to the first dot, the group the rest. */
export function parseGroupResource(s: string): GroupResource {
  const dot = s.indexOf('.');
  return dot === -1 ? { group: '', resource: s } : { group: s.slice(dot + 1), resource: s.slice(0, dot) };
}

function grString(gr: GroupResource): string {
  if (gr.group === '' && gr.resource === '*') return '*.';
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

const AES_KEY_SIZES = [16, 24, 32];
const SECRETBOX_KEY_SIZES = [32];

/** Go's %#v of a string slice, as field.Invalid prints a list value. */
function goStrings(v: string[]): string {
  return `[]string{${v.map((s) => JSON.stringify(s)).join(', ')}}`;
}

const invalid = (path: string, value: string, msg: string) => `${path}: Invalid value: ${value}: ${msg}`;
const required = (path: string, msg: string) => `${path}: Required value: ${msg}`;

/** Upstream's ValidateEncryptionConfiguration; each string is one field error. */
export function validateEncryptionConfiguration(c: EncryptionConfiguration | undefined | null): string[] {
  const errs: string[] = [];
  if (!c) return [required('resources', "EncryptionConfiguration can't be nil")];
  if (!Array.isArray(c.resources) || c.resources.length === 0) return [required('resources', 'at least one resources is required')];
  c.resources.forEach((conf, i) => {
    const r = `resources[${i}].resources`;
    const p = `resources[${i}].providers`;
    const resources = Array.isArray(conf?.resources) ? conf.resources.map(String) : [];
    if (resources.length === 0) errs.push(required(r, `at least one ${r} is required`));
    errs.push(...validateResourceOverlap(resources, r), ...validateResourceNames(resources, r));
    const providers = Array.isArray(conf?.providers) ? conf.providers : [];
    if (providers.length === 0) errs.push(required(p, `at least one ${p} is required`));
    providers.forEach((provider, j) => {
      const path = `${p}[${j}]`;
      const kinds = (['kms', 'aesgcm', 'aescbc', 'secretbox', 'identity'] as const).filter((k) => provider?.[k] !== undefined && provider?.[k] !== null);
      if (kinds.length === 0) {
        errs.push(invalid(path, JSON.stringify(provider ?? {}), 'provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity'));
        return;
      }
      if (kinds.length > 1) {
        errs.push(invalid(path, JSON.stringify(provider), 'more than one provider specified in a single element, should split into different list elements'));
        return;
      }
      const kind = kinds[0];
      if (kind === 'aesgcm' || kind === 'aescbc' || kind === 'secretbox') {
        errs.push(...validateKeys(provider[kind]?.keys, `${path}.${kind}.keys`, kind === 'secretbox' ? SECRETBOX_KEY_SIZES : AES_KEY_SIZES));
      }
    });
  });
  return errs;
}

function validateResourceOverlap(resources: string[], path: string): string[] {
  if (resources.length < 2) return [];
  const grs = resources.map(parseGroupResource);
  let duplicate = false;
  let overlap = false;
  grs.forEach((a, i) =>
    grs.forEach((b, j) => {
      if (i === j) return;
      if (a.group === b.group && a.resource === b.resource) {
        duplicate = true;
        return;
      }
      if (a.group === '*' && a.resource === '*') overlap = true;
      else if (a.group === b.group && (a.resource === '*' || b.resource === '*')) overlap = true;
    }),
  );
  const errs: string[] = [];
  if (duplicate) errs.push(invalid(path, goStrings(resources), 'the same resource cannot be specified multiple times'));
  if (overlap) errs.push(invalid(path, goStrings(resources), "using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they will be masked"));
  return errs;
}

function validateResourceNames(resources: string[], path: string): string[] {
  const errs: string[] = [];
  resources.forEach((res, j) => {
    const at = `${path}[${j}]`;
    const v = JSON.stringify(res);
    const gr = parseGroupResource(res);
    if (res.toLowerCase() !== res) errs.push(invalid(at, v, 'resource name should not contain capital letters'));
    else if (res === '*') errs.push(invalid(at, v, "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"));
    else if (res === 'apiserveripinfo' || res === 'serviceipallocations' || res === 'servicenodeportallocations') {
      errs.push(invalid(at, v, 'resources which do not have REST API/s cannot be encrypted'));
    } else if (gr.group === 'events.k8s.io') {
      errs.push(invalid(at, v, "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the config file"));
    } else if (gr.group === 'extensions') errs.push(invalid(at, v, "'extensions' group has been removed and cannot be used for encryption"));
    else if (gr.group === '*' && gr.resource !== '*') errs.push(invalid(at, v, 'encrypting the same resource across groups is not supported'));
  });
  return errs;
}

function validateKeys(keys: EncryptionKey[] | undefined, path: string, sizes: number[]): string[] {
  if (!Array.isArray(keys) || keys.length === 0) return [required(path, 'at least one keys is required')];
  const errs: string[] = [];
  keys.forEach((key, i) => {
    const at = `${path}[${i}]`;
    if (!key?.name) errs.push(required(`${at}.name`, 'name is a mandatory field for a key'));
    if (!key?.secret) {
      errs.push(required(`${at}.secret`, 'secret is a mandatory field for a key'));
      return;
    }
    const secret = decodeBase64Strict(String(key.secret));
    if (!secret) errs.push(invalid(`${at}.secret`, '"REDACTED"', 'secrets must be base64 encoded'));
    else if (!sizes.includes(secret.length)) {
      errs.push(invalid(`${at}.secret`, '"REDACTED"', `secret is not of the expected length, got ${secret.length}, expected one of [${sizes.join(' ')}]`));
    }
  });
  return errs;
}

/** Go's base64.StdEncoding.DecodeString: padded standard alphabet only. */
function decodeBase64Strict(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** The providers of one resource, first one writing; `transformerFor` picks them per storage key. */
export interface ResourceTransformers {
  /** Upstream's lookup order: the resource, then `*.group`, then `*.*`. */
  lookup(gr: GroupResource): Provider[] | undefined;
  /** The configured resources, for messages and the rewrite command. */
  readonly resources: GroupResource[];
}

/** Builds the per-resource provider lists of a valid configuration (upstream's getTransformerOverrides). */
export function buildTransformers(c: EncryptionConfiguration): ResourceTransformers {
  const byGr = new Map<string, Provider[]>();
  const k = (gr: GroupResource) => `${gr.group}/${gr.resource}`;
  const resources: GroupResource[] = [];
  for (const conf of c.resources ?? []) {
    const providers = (conf.providers ?? []).map(providerOf);
    for (const res of conf.resources ?? []) {
      const gr = parseGroupResource(res);
      for (const mask of [{ group: gr.group, resource: '*' }, { group: '*', resource: '*' }]) {
        if (byGr.has(k(mask))) throw new Error(`resource ${JSON.stringify(grString(gr))} is masked by earlier rule ${JSON.stringify(grString(mask))}`);
      }
      if (!byGr.has(k(gr))) resources.push(gr);
      byGr.set(k(gr), [...(byGr.get(k(gr)) ?? []), ...providers]);
    }
  }
  return {
    resources,
    lookup: (gr) => byGr.get(k(gr)) ?? byGr.get(`${gr.group}/*`) ?? byGr.get('*/*'),
  };
}

function providerOf(p: ProviderConfiguration): Provider {
  if (p.kms) throw new Error('the kms provider is not supported by skiff (no KMS plugin support); use aesgcm or aescbc');
  if (p.secretbox) throw new Error('the secretbox provider is not supported by skiff (node:crypto has no XSalsa20-Poly1305); use aesgcm or aescbc');
  if (p.identity) return identityProvider();
  const mode = p.aesgcm ? 'aesgcm' : 'aescbc';
  const keys = (p.aesgcm ?? p.aescbc)!.keys ?? [];
  return aesProvider(
    mode,
    keys.map((key) => ({ name: key.name!, key: Buffer.from(key.secret!, 'base64') })),
  );
}

/** Parses, validates and builds a configuration file's transformers; errors read as upstream's. */
export function parseEncryptionConfiguration(text: string, source = 'encryption configuration'): ResourceTransformers {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`error while parsing file: error decoding encryption provider configuration file ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) throw new Error(`error while parsing file: encryption provider configuration file ${JSON.stringify(source)} is empty`);
  const c = doc as EncryptionConfiguration;
  if (typeof c !== 'object' || c.kind !== 'EncryptionConfiguration' || c.apiVersion !== 'apiserver.config.k8s.io/v1') {
    const gv = typeof c === 'object' ? `${c.apiVersion ?? ''}, Kind=${c.kind ?? ''}` : '';
    throw new Error(`error while parsing file: got unexpected config type: ${gv} (want apiserver.config.k8s.io/v1, Kind=EncryptionConfiguration)`);
  }
  const errs = validateEncryptionConfiguration(c);
  if (errs.length === 1) throw new Error(`error while parsing file: ${errs[0]}`);
  if (errs.length > 1) throw new Error(`error while parsing file: [${errs.join(', ')}]`);
  try {
    return buildTransformers(c);
  } catch (err) {
    throw new Error(`error while building transformers: ${(err as Error).message}`);
  }
}

export async function loadEncryptionConfiguration(path: string): Promise<ResourceTransformers> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`error while parsing file: error while loading file: error reading encryption provider configuration file ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  return parseEncryptionConfiguration(text, path);
}

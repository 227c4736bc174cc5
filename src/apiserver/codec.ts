/**
 * Reading request bodies and choosing response formats. Bodies are JSON or YAML (YAML 1.1, as
 * Kubernetes manifests are written); responses are JSON, a meta.k8s.io Table, or YAML.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, errors } from '../api/errors.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan, yamlDecodeProblem } from './nesting.js';
import { decodeKubernetesProtobuf, KUBERNETES_PROTOBUF } from './protobuf/decode.js';

/** Upstream's request body limit (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Set on a request whose body the audit log wants (see audit/auditor.ts); called with the body once read. */
export const BODY_OBSERVER = Symbol('auditBodyObserver');

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      reject(errors.tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(errors.tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (failed) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      (req as IncomingMessage & { [BODY_OBSERVER]?: (b: Buffer) => void })[BODY_OBSERVER]?.(body);
      resolve(body);
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(errors.badRequest(`error reading request body: ${err.message}`));
      }
    });
  });
}

/** The media type without parameters, lower-cased: "application/json; charset=utf-8" → "application/json". */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'application/apply-patch+yaml']);

/** Decodes a request body into a JSON value, as JSON or YAML by Content-Type. */
/** Decodes a request body; `duplicates` (when given) receives the paths of repeated JSON keys. */
export function decodeBody(body: Buffer, contentType: string | undefined, duplicates?: string[]): unknown {
  const mt = mediaType(contentType);
  // client-go's typed clients (kubectl create, auth can-i, ...) write protobuf.
  if (mt === KUBERNETES_PROTOBUF) return decodeKubernetesProtobuf(body, mt);
  const text = body.toString('utf8');
  if (YAML_TYPES.has(mt)) {
    // JSON is YAML, and what kubectl sends as an apply patch: parse it as JSON, many times faster.
    if (/^\s*\{/.test(text)) {
      try {
        return parseJson(text, duplicates);
      } catch {
        // Not JSON after all (or too deep): YAML decides, with its own limits and messages.
      }
    }
    return decodeYaml(text);
  }
  if (mt !== '' && mt !== 'application/json' && !mt.endsWith('+json') && mt !== '*/*') throw errors.unsupportedMediaType(mt);
  try {
    return parseJson(text, duplicates);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // Clients sometimes send YAML without saying so; upstream's decoder sniffs it too.
    if (mt === '' && !/^\s*[[{]/.test(text)) return decodeYaml(text);
    throw errors.badRequest(`json: ${(err as Error).message}`);
  }
}

/**
 * JSON.parse with a depth limit (a 400, like Go's "exceeded max depth"; see nesting.ts for its
 * value). With `duplicates`, the same single pass also collects the paths of keys an object repeats
 * (`spec.replicas`, `spec.containers[0].name`), which upstream's strict decoder reports and
 * JSON.parse silently resolves to the last value.
 */
export function parseJson(text: string, duplicates?: string[]): unknown {
  let depth = 0;
  const frames: Frame[] = [];
  let keyStart = -1;
  let keyEnd = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \\ */) i++;
        else if (d === 34) break;
      }
      keyStart = start;
      keyEnd = i;
    } else if (c === 58 /* : */) {
      const f = frames[frames.length - 1];
      if (duplicates && f && f.keys && keyStart >= 0) {
        const raw = text.slice(keyStart + 1, keyEnd);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (f.keys.has(key)) duplicates.push(pathOf(frames, key));
        else f.keys.add(key);
        f.key = key;
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > MAX_NESTING_DEPTH) throw errors.badRequest(`json: exceeded max depth of ${MAX_NESTING_DEPTH}`);
      if (duplicates) frames.push(c === 123 ? { keys: new Set(), key: '', index: -1 } : { keys: undefined, key: '', index: 0 });
    } else if (c === 125 || c === 93) {
      depth--;
      if (duplicates) frames.pop();
    } else if (c === 44 /* , */ && duplicates) {
      const f = frames[frames.length - 1];
      if (f && !f.keys) f.index++;
    }
  }
  return JSON.parse(text);
}

interface Frame {
  /** Keys seen so far in an object; undefined for an array. */
  keys: Set<string> | undefined;
  key: string;
  index: number;
}

function pathOf(frames: Frame[], key: string): string {
  let p = '';
  for (let i = 0; i < frames.length - 1; i++) {
    const f = frames[i];
    p += f.keys ? (p ? '.' : '') + f.key : `[${f.index}]`;
  }
  return p ? `${p}.${key}` : key;
}

function decodeYaml(text: string): unknown {
  const refused = (problem: string) => errors.badRequest(`error converting YAML to JSON: yaml: ${problem}`);
  // Checked before the library composes values, which recurses once per level.
  const problem = yamlDecodeProblem(text, MAX_NESTING_DEPTH);
  if (problem) throw refused(problem);
  let value: unknown;
  try {
    // Kubernetes reads manifests as YAML 1.1 (sigs.k8s.io/yaml on go-yaml v2): `yes`, `on`, `010` are not strings.
    value = parseYaml(text, { version: '1.1', merge: true, maxAliasCount: 100 });
  } catch (err) {
    throw errors.badRequest(`error converting YAML to JSON: ${(err as Error).message}`);
  }
  // Aliases can stack shallow anchors into a deep value.
  if (nestsDeeperThan(value, MAX_NESTING_DEPTH)) throw refused(`exceeded max depth of ${MAX_NESTING_DEPTH}`);
  return value;
}

export type ResponseFormat = 'json' | 'table' | 'yaml' | 'partial-metadata';

export interface Negotiated {
  format: ResponseFormat;
  /** For Tables: whether the client asked for v1 or v1beta1 Tables. */
  tableVersion?: 'v1' | 'v1beta1';
  /** Content-Type to answer with. */
  contentType: string;
}

/**
 * Picks the response format from an Accept header the way upstream's negotiation does: the first
 * acceptable entry wins; protobuf-only clients get 406 so they retry with JSON.
 */
export function negotiate(accept: string | undefined, allowTable: boolean): Negotiated {
  if (!accept) return { format: 'json', contentType: 'application/json' };
  let sawProtobuf = false;
  for (const raw of accept.split(',')) {
    const parts = raw.split(';').map((p) => p.trim());
    const type = parts[0].toLowerCase();
    const params: Record<string, string> = {};
    for (const p of parts.slice(1)) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
    }
    if (type === 'application/json' || type === 'application/*' || type === '*/*') {
      if (params.as === 'Table') {
        if (!allowTable) continue;
        if (params.g !== 'meta.k8s.io' || (params.v !== 'v1' && params.v !== 'v1beta1')) continue;
        return {
          format: 'table',
          tableVersion: params.v as 'v1' | 'v1beta1',
          contentType: `application/json;as=Table;v=${params.v};g=meta.k8s.io`,
        };
      }
      if (params.as === 'PartialObjectMetadata' || params.as === 'PartialObjectMetadataList') {
        if (params.g !== 'meta.k8s.io') continue;
        return { format: 'partial-metadata', contentType: `application/json;as=${params.as};v=${params.v ?? 'v1'};g=meta.k8s.io` };
      }
      if (params.as) continue;
      return { format: 'json', contentType: 'application/json' };
    }
    if (type === 'application/yaml') return { format: 'yaml', contentType: 'application/yaml' };
    if (type === 'application/vnd.kubernetes.protobuf' || type === 'application/vnd.kubernetes.protobuf;stream=watch') {
      sawProtobuf = true;
      continue;
    }
  }
  if (sawProtobuf) throw errors.notAcceptable('only the following media types are accepted: application/json, application/yaml');
  throw errors.notAcceptable('only the following media types are accepted: application/json, application/yaml');
}

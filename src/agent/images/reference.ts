/**
 * Image references, normalized as Docker's reference.ParseNormalizedNamed does and as the kubelet
 * applies a default tag: "busybox" → "docker.io/library/busybox:latest".
 *
 * Written as a single left-to-right scan per part instead of the grammar's regular expressions: user
 * input goes through here and a backtracking pattern once let a long name take the server down.
 */
import { ImageError } from '../cri.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

export interface ImageReference {
  /** "docker.io", "127.0.0.1:5000", "[::1]:5000". */
  domain: string;
  /** The repository path inside the registry: "library/busybox". */
  path: string;
  /** domain + "/" + path. */
  repository: string;
  /** The tag asked for, or "latest" when neither a tag nor a digest was given. */
  tag?: string;
  /** "sha256:<hex>" when pinned. */
  digest?: string;
  /** The normalized reference: "repo:tag", "repo@digest" or "repo:tag@digest". */
  normalized: string;
}

/** The error texts of distribution's reference package (what containerd and the kubelet print). */
class ReferenceSyntaxError extends Error {}

/**
 * Parses and normalizes `image`. Throws ImageError('InvalidImageName') with the kubelet's message:
 * `Failed to apply default image tag "x": couldn't parse image reference "x": invalid reference format`.
 */
export function parseImageReference(image: string): ImageReference {
  try {
    return parseNormalized(image);
  } catch (err) {
    if (!(err instanceof ReferenceSyntaxError)) throw err;
    throw new ImageError(
      'InvalidImageName',
      `Failed to apply default image tag ${JSON.stringify(image)}: couldn't parse image reference ${JSON.stringify(image)}: ${err.message}`,
    );
  }
}

/** The normalized string, or undefined when `image` does not parse. */
export function normalizeImageReference(image: string): string | undefined {
  try {
    return parseNormalized(image).normalized;
  } catch {
    return undefined;
  }
}

function parseNormalized(s: string): ImageReference {
  if (s.length === 64 && isLowerHex(s, 0, 64)) {
    throw new ReferenceSyntaxError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remoteName = tagSep >= 0 ? remainder.slice(0, tagSep) : remainder;
  if (remoteName.toLowerCase() !== remoteName) {
    throw new ReferenceSyntaxError(`invalid reference format: repository name (${remoteName}) must be lowercase`);
  }
  return parseFull(domain, remainder);
}

function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  if (i === -1) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    const first = name.slice(0, i);
    const looksLikeHost = first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first;
    if (looksLikeHost) {
      domain = first;
      remainder = name.slice(i + 1);
    } else {
      domain = DEFAULT_DOMAIN;
      remainder = name;
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** `remainder` is "path[:tag][@digest]" after the domain. */
function parseFull(domain: string, remainder: string): ImageReference {
  let rest = remainder;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    validateDigestSyntax(digest);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw new ReferenceSyntaxError('invalid reference format');
  }
  if (!isDomain(domain) || !isPath(rest)) {
    // Upstream tells an uppercase path apart from other bad syntax.
    const lower = rest.toLowerCase();
    if (lower !== rest && isDomain(domain) && isPath(lower)) throw new ReferenceSyntaxError('repository name must be lowercase');
    throw new ReferenceSyntaxError('invalid reference format');
  }
  const repository = `${domain}/${rest}`;
  if (repository.length > NAME_TOTAL_LENGTH_MAX) {
    throw new ReferenceSyntaxError(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (digest) validateDigestValue(digest);
  if (!tag && !digest) tag = DEFAULT_TAG;
  const normalized = repository + (tag ? `:${tag}` : '') + (digest ? `@${digest}` : '');
  return { domain, path: rest, repository, tag, digest, normalized };
}

// ---------------------------------------------------------------------------------------------
// The grammar, one scan each.

const isLowerAlnum = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
const isAlnum = (c: number) => isLowerAlnum(c) || (c >= 0x41 && c <= 0x5a);
const isWord = (c: number) => isAlnum(c) || c === 0x5f;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!(isDigit(c) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** path-component ("/" path-component)*, component = [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*. */
function isPath(p: string): boolean {
  if (p === '') return false;
  for (const component of p.split('/')) {
    if (!isPathComponent(component)) return false;
  }
  return true;
}

function isPathComponent(c: string): boolean {
  if (c === '' || !isLowerAlnum(c.charCodeAt(0)) || !isLowerAlnum(c.charCodeAt(c.length - 1))) return false;
  let sep = '';
  for (let i = 0; i < c.length; i++) {
    const ch = c.charCodeAt(i);
    if (isLowerAlnum(ch)) {
      if (sep !== '' && !(sep === '.' || sep === '_' || sep === '__' || /* a run of dashes */ sep[0] === '-')) return false;
      sep = '';
      continue;
    }
    if (ch === 0x2d) {
      if (sep !== '' && sep[0] !== '-') return false;
      sep += '-';
    } else if (ch === 0x2e || ch === 0x5f) {
      if (sep.length >= 2 || (sep !== '' && (sep[0] !== '_' || ch !== 0x5f))) return false;
      sep += c[i];
    } else {
      return false;
    }
  }
  return true;
}

/** host[:port] where host is dotted domain components or a bracketed IPv6 address. */
function isDomain(d: string): boolean {
  if (d === '') return false;
  let host = d;
  if (d.startsWith('[')) {
    const close = d.indexOf(']');
    if (close < 0) return false;
    const inner = d.slice(1, close);
    if (inner === '') return false;
    for (let i = 0; i < inner.length; i++) {
      const ch = inner.charCodeAt(i);
      if (!(isDigit(ch) || (ch >= 0x61 && ch <= 0x66) || (ch >= 0x41 && ch <= 0x46) || ch === 0x3a)) return false;
    }
    const after = d.slice(close + 1);
    return after === '' || isPort(after);
  }
  const colon = d.indexOf(':');
  if (colon >= 0) {
    if (!isPort(d.slice(colon))) return false;
    host = d.slice(0, colon);
  }
  for (const component of host.split('.')) {
    if (component === '') return false;
    if (!isAlnum(component.charCodeAt(0)) || !isAlnum(component.charCodeAt(component.length - 1))) return false;
    for (let i = 0; i < component.length; i++) {
      const ch = component.charCodeAt(i);
      if (!(isAlnum(ch) || ch === 0x2d)) return false;
    }
  }
  return true;
}

function isPort(p: string): boolean {
  if (p.length < 2 || p[0] !== ':') return false;
  for (let i = 1; i < p.length; i++) if (!isDigit(p.charCodeAt(i))) return false;
  return true;
}

/** [\w][\w.-]{0,127} */
function isTag(t: string): boolean {
  if (t.length === 0 || t.length > 128 || !isWord(t.charCodeAt(0))) return false;
  for (let i = 1; i < t.length; i++) {
    const ch = t.charCodeAt(i);
    if (!(isWord(ch) || ch === 0x2e || ch === 0x2d)) return false;
  }
  return true;
}

/** algorithm ":" hex{32,}, algorithm = [A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)* */
function validateDigestSyntax(d: string): void {
  const colon = d.indexOf(':');
  if (colon <= 0) throw new ReferenceSyntaxError('invalid reference format');
  const alg = d.slice(0, colon);
  const isAlpha = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
  let expectAlpha = true;
  for (let i = 0; i < alg.length; i++) {
    const ch = alg.charCodeAt(i);
    if (expectAlpha) {
      if (!isAlpha(ch)) throw new ReferenceSyntaxError('invalid reference format');
      expectAlpha = false;
    } else if (ch === 0x2d || ch === 0x5f || ch === 0x2b || ch === 0x2e) {
      expectAlpha = true;
    } else if (!isAlnum(ch)) {
      throw new ReferenceSyntaxError('invalid reference format');
    }
  }
  if (expectAlpha) throw new ReferenceSyntaxError('invalid reference format');
  const hex = d.slice(colon + 1);
  if (hex.length < 32) throw new ReferenceSyntaxError('invalid reference format');
  for (let i = 0; i < hex.length; i++) {
    const ch = hex.charCodeAt(i);
    if (!(isDigit(ch) || (ch >= 0x61 && ch <= 0x66) || (ch >= 0x41 && ch <= 0x46))) throw new ReferenceSyntaxError('invalid reference format');
  }
}

const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** What go-digest's Validate says once the syntax is right. */
function validateDigestValue(d: string): void {
  const colon = d.indexOf(':');
  const alg = d.slice(0, colon);
  const hex = d.slice(colon + 1);
  const want = DIGEST_HEX_LENGTH[alg];
  if (want === undefined) throw new ReferenceSyntaxError('unsupported digest algorithm');
  if (!isLowerHex(hex, 0, hex.length)) throw new ReferenceSyntaxError('invalid checksum digest format');
  if (hex.length !== want) throw new ReferenceSyntaxError('invalid checksum digest length');
}

/** "sha256:<64 lowercase hex>": the only digests the store keeps. */
export function isSha256Digest(d: string): boolean {
  return d.length === 71 && d.startsWith('sha256:') && isLowerHex(d, 7, 71);
}

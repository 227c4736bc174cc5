/**
 * Which pull-secret entries apply to an image, as the kubelet's credential keyring decides
 * (pkg/credentialprovider/keyring.go): entries keyed by registry host with or without a scheme and a
 * path prefix, "/v1/" and "/v2/" suffixes ignored, "*" globs per host label, the most specific key
 * first, and "index.docker.io" (what "https://index.docker.io/v1/" means) for Docker Hub images.
 */
import type { RegistryCredential } from '../cri.js';

/** The secret's credential reduced to what a registry request can use. */
export interface AuthConfig {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

const DEFAULT_REGISTRY_HOST = 'index.docker.io';

/** Credentials that match `image` (a normalized repository, "docker.io/library/busybox"), best first. */
export function lookupCredentials(credentials: readonly RegistryCredential[] | undefined, image: string): AuthConfig[] {
  if (!credentials?.length) return [];
  const byKey = new Map<string, AuthConfig[]>();
  for (const c of credentials) {
    const key = keyringKey(c.registry);
    if (key === undefined) continue;
    const auth = toAuthConfig(c);
    if (!auth) continue;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(auth);
  }
  // Reverse-sorted so "quay.io/coreos" is tried before "quay.io".
  const index = [...byKey.keys()].sort().reverse();
  const out: AuthConfig[] = [];
  for (const key of index) {
    if (urlsMatch(key, image)) out.push(...byKey.get(key)!);
  }
  if (out.length > 0) return out;
  if (isDefaultRegistryMatch(image)) return byKey.get(DEFAULT_REGISTRY_HOST) ?? [];
  return [];
}

function toAuthConfig(c: RegistryCredential): AuthConfig | undefined {
  let { username, password } = c;
  if (c.auth && !username && !password) {
    const decoded = Buffer.from(c.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const out: AuthConfig = {};
  if (username) out.username = username;
  if (password) out.password = password;
  if (c.identitytoken) out.identityToken = c.identitytoken;
  if (c.registrytoken) out.registryToken = c.registrytoken;
  return Object.keys(out).length ? out : undefined;
}

/** "https://index.docker.io/v1/" → "index.docker.io", "reg.example/v2/team" → "reg.example/team". */
function keyringKey(registry: string): string | undefined {
  let value = registry.trim();
  if (!value) return undefined;
  if (!value.startsWith('https://') && !value.startsWith('http://')) value = `https://${value}`;
  let parsed: URL;
  try {
    // URL() rejects "*" in hosts; the glob is matched by hand, so hide it from the parser.
    parsed = new URL(value.replaceAll('*', 'x-glob-x'));
  } catch {
    return undefined;
  }
  const host = parsed.host.replaceAll('x-glob-x', '*');
  let path = parsed.pathname;
  if (path.startsWith('/v2/') || path.startsWith('/v1/')) path = path.slice(3);
  return path && path !== '/' ? host + path : host;
}

function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash < 0 ? image : image.slice(0, slash);
  if (!first) return false;
  if (slash < 0) return true;
  if (first === 'docker.io' || first === 'index.docker.io') return true;
  return !first.includes('.') && !first.includes(':');
}

/** Schemeless "host[:port][/path]" glob against a schemeless target, as URLsMatchStr. */
function urlsMatch(glob: string, target: string): boolean {
  const [gHostPort, gPath] = splitHostPath(glob);
  const [tHostPort, tPath] = splitHostPath(target);
  const [gHost, gPort] = splitPort(gHostPort);
  const [tHost, tPort] = splitPort(tHostPort);
  if (gPort !== tPort) return false;
  const gParts = gHost.split('.');
  const tParts = tHost.split('.');
  if (gParts.length !== tParts.length) return false;
  for (let i = 0; i < gParts.length; i++) {
    if (!globMatch(gParts[i], tParts[i])) return false;
  }
  return tPath.startsWith(gPath);
}

function splitHostPath(s: string): [string, string] {
  const slash = s.indexOf('/');
  return slash < 0 ? [s, ''] : [s.slice(0, slash), s.slice(slash)];
}

function splitPort(hostPort: string): [string, string] {
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    return [hostPort.slice(0, close + 1), hostPort.slice(close + 2)];
  }
  const colon = hostPort.lastIndexOf(':');
  return colon < 0 ? [hostPort, ''] : [hostPort.slice(0, colon), hostPort.slice(colon + 1)];
}

/** filepath.Match for one host label: "*" any run, "?" one character; linear two-pointer matching. */
function globMatch(pattern: string, s: string): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === s[i])) {
      p++;
      i++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

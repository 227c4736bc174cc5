/**
 * Kubernetes' URL, IP and CIDR libraries (library/urls.go, ip.go, cidr.go): url(), isURL(),
 * getScheme/getHost/getHostname/getPort/getEscapedPath/getQuery; ip(), isIP(), ip.isCanonical(),
 * family(), isUnspecified(), isLoopback(), isLinkLocalMulticast(), isLinkLocalUnicast(),
 * isGlobalUnicast(); cidr(), isCIDR(), containsIP(), containsCIDR(), ip(), masked(), prefixLength();
 * string() of an IP or CIDR; == between IPs and between CIDRs.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from './values.js';
import { chargeString } from './strings.js';

// ---- URLs (Go's url.ParseRequestURI, which upstream uses) ----

export class CelURL {
  constructor(
    readonly scheme: string,
    readonly host: string,
    readonly path: string,
    readonly rawQuery: string,
  ) {}

  equals(o: unknown): boolean {
    return o instanceof CelURL && o.scheme === this.scheme && o.host === this.host && o.path === this.path && o.rawQuery === this.rawQuery;
  }
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s;

export function parseRequestURI(raw: string): CelURL | string {
  if (raw === '') return 'empty url';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x20) return 'invalid control character in URL';
  }
  let rest = raw;
  let rawQuery = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (rest.startsWith('/') && !rest.startsWith('//')) return new CelURL('', '', decodePath(rest), rawQuery);
  const m = SCHEME.exec(rest);
  if (!m) return 'invalid URI for request';
  const scheme = m[1].toLowerCase();
  rest = m[2];
  if (!rest.startsWith('/')) {
    // An opaque URL ("mailto:x"): ParseRequestURI accepts it with an empty host and path.
    return new CelURL(scheme, '', '', rawQuery);
  }
  if (!rest.startsWith('//')) return new CelURL(scheme, '', decodePath(rest), rawQuery);
  rest = rest.slice(2);
  const slash = rest.indexOf('/');
  let authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash) : '';
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return "missing ']' in host";
    const after = authority.slice(end + 1);
    if (after !== '' && !/^:\d*$/.test(after)) return `invalid port "${after}" after host`;
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0 && !/^\d*$/.test(authority.slice(colon + 1))) return `invalid port "${authority.slice(colon)}" after host`;
  }
  return new CelURL(scheme, authority, decodePath(path), rawQuery);
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function hostname(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return host.slice(1, end);
  }
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

function port(host: string): string {
  const start = host.startsWith('[') ? host.indexOf(']') + 1 : 0;
  const colon = host.indexOf(':', start);
  return colon >= 0 ? host.slice(colon + 1) : '';
}

function escapedPath(p: string): string {
  return p
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%3A/g, ':').replace(/%40/g, '@').replace(/%24/g, '$').replace(/%26/g, '&').replace(/%2B/g, '+').replace(/%2C/g, ',').replace(/%3B/g, ';').replace(/%3D/g, '='))
    .join('/');
}

function queryMap(raw: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const dec = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return undefined;
      }
    };
    const k = dec(eq >= 0 ? part.slice(0, eq) : part);
    const v = dec(eq >= 0 ? part.slice(eq + 1) : '');
    if (k === undefined || v === undefined) continue;
    (out[k] ??= []).push(v);
  }
  return out;
}

// ---- IP addresses (Go's netip) ----

export class CelIP {
  constructor(readonly bytes: Uint8Array) {}

  get family(): 4 | 6 {
    return this.bytes.length === 4 ? 4 : 6;
  }

  equals(o: unknown): boolean {
    return o instanceof CelIP && o.bytes.length === this.bytes.length && o.bytes.every((b, i) => b === this.bytes[i]);
  }

  toString(): string {
    if (this.bytes.length === 4) return [...this.bytes].join('.');
    const groups: number[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((this.bytes[i] << 8) | this.bytes[i + 1]);
    // RFC 5952: compress the longest run (the first one on a tie) of two or more zero groups.
    let best = -1;
    let bestLen = 1;
    for (let i = 0; i < 8; ) {
      if (groups[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > bestLen) {
        best = i;
        bestLen = j - i;
      }
      i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (best < 0) return hex.join(':');
    return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
  }
}

function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | undefined {
  let head = s;
  let tail = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
    if (tail.includes('::')) return undefined;
  }
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseIPv4(it);
        if (!v4) return undefined;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        groups.push(parseInt(it, 16));
      }
    }
    return groups;
  };
  const h = parse(head);
  const t = parse(tail);
  if (!h || !t) return undefined;
  let groups: number[];
  if (dbl >= 0) {
    if (h.length + t.length > 7) return undefined;
    groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  } else {
    if (h.length !== 8) return undefined;
    groups = h;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** netip.ParseAddr plus upstream's refusals (zones, IPv4-mapped IPv6); a string is the error. */
export function parseIP(s: string): CelIP | string {
  if (s.includes('%')) return 'IP address with zone value is not allowed';
  const bytes = s.includes(':') ? parseIPv6(s) : parseIPv4(s);
  if (!bytes) return `ParseAddr(${JSON.stringify(s)}): unable to parse IP`;
  if (bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return 'IPv4-mapped IPv6 address is not allowed';
  }
  return new CelIP(bytes);
}

function ipOrThrow(s: string): CelIP {
  chargeString(s);
  const ip = parseIP(s);
  if (typeof ip === 'string') throw celError(`IP Address ${JSON.stringify(s)} parse error during conversion from string: ${ip}`);
  return ip;
}

function inPrefix(ip: CelIP, prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((ip.bytes[byte] & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

const isUnspecified = (ip: CelIP) => ip.bytes.every((b) => b === 0);
const isLoopback = (ip: CelIP) => (ip.family === 4 ? ip.bytes[0] === 127 : ip.bytes.slice(0, 15).every((b) => b === 0) && ip.bytes[15] === 1);
const isMulticast = (ip: CelIP) => (ip.family === 4 ? (ip.bytes[0] & 0xf0) === 0xe0 : ip.bytes[0] === 0xff);
const isLinkLocalMulticast = (ip: CelIP) => (ip.family === 4 ? inPrefix(ip, [224, 0, 0], 24) : inPrefix(ip, [0xff, 0x02], 16));
const isLinkLocalUnicast = (ip: CelIP) => (ip.family === 4 ? inPrefix(ip, [169, 254], 16) : inPrefix(ip, [0xfe, 0x80], 10));
const isGlobalUnicast = (ip: CelIP) =>
  !isUnspecified(ip) && !isLoopback(ip) && !isMulticast(ip) && !isLinkLocalUnicast(ip) && !(ip.family === 4 && ip.bytes.every((b) => b === 255));

// ---- CIDRs (netip.ParsePrefix) ----

export class CelCIDR {
  constructor(
    readonly ip: CelIP,
    readonly bits: number,
  ) {}

  masked(): CelCIDR {
    const out = new Uint8Array(this.ip.bytes);
    for (let i = this.bits; i < out.length * 8; i++) out[i >> 3] &= ~(0x80 >> (i & 7));
    return new CelCIDR(new CelIP(out), this.bits);
  }

  containsIP(ip: CelIP): boolean {
    return ip.family === this.ip.family && inPrefix(ip, [...this.ip.bytes], this.bits);
  }

  containsCIDR(o: CelCIDR): boolean {
    return o.ip.family === this.ip.family && o.bits >= this.bits && this.containsIP(o.masked().ip);
  }

  equals(o: unknown): boolean {
    return o instanceof CelCIDR && o.bits === this.bits && o.ip.equals(this.ip);
  }

  toString(): string {
    return `${this.ip.toString()}/${this.bits}`;
  }
}

export function parseCIDR(s: string): CelCIDR | string {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return `netip.ParsePrefix(${JSON.stringify(s)}): no '/'`;
  const ip = parseIP(s.slice(0, slash));
  if (typeof ip === 'string') return `netip.ParsePrefix(${JSON.stringify(s)}): ${ip}`;
  const bitsText = s.slice(slash + 1);
  const max = ip.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bitsText) || (bitsText.length > 1 && bitsText[0] === '0') || Number(bitsText) > max) {
    return `netip.ParsePrefix(${JSON.stringify(s)}): bad bits after slash: ${JSON.stringify(bitsText)}`;
  }
  return new CelCIDR(ip, Number(bitsText));
}

function cidrOrThrow(s: string): CelCIDR {
  chargeString(s);
  const c = parseCIDR(s);
  if (typeof c === 'string') throw celError(`network address parse error during conversion from string: ${c}`);
  return c;
}

class IPNamespace {}

export function registerNetwork(env: Environment): void {
  env.registerType('net.URL', CelURL);
  env.registerFunction('url(string): net.URL', (s: string) => {
    chargeString(s);
    const u = parseRequestURI(s);
    if (typeof u === 'string') throw celError(`URL parse error during conversion from string: parse ${JSON.stringify(s)}: ${u}`);
    return u;
  });
  env.registerFunction('isURL(string): bool', (s: string) => {
    chargeString(s);
    return typeof parseRequestURI(s) !== 'string';
  });
  env.registerFunction('net.URL.getScheme(): string', (u: CelURL) => u.scheme);
  env.registerFunction('net.URL.getHost(): string', (u: CelURL) => u.host);
  env.registerFunction('net.URL.getHostname(): string', (u: CelURL) => hostname(u.host));
  env.registerFunction('net.URL.getPort(): string', (u: CelURL) => port(u.host));
  env.registerFunction('net.URL.getEscapedPath(): string', (u: CelURL) => escapedPath(u.path));
  env.registerFunction('net.URL.getQuery(): map<string, list<string>>', (u: CelURL) => queryMap(u.rawQuery));
  env.registerOperator('net.URL == net.URL', (a: CelURL, b: CelURL) => a.equals(b));

  env.registerType('net.IP', CelIP);
  env.registerFunction('ip(string): net.IP', ipOrThrow);
  env.registerFunction('isIP(string): bool', (s: string) => {
    chargeString(s);
    return typeof parseIP(s) !== 'string';
  });
  // `ip.isCanonical(s)` reads as a method of a namespace value named ip (as cel.bind does).
  env.registerType('k8s.IPNamespace', IPNamespace);
  env.registerConstant('ip', 'k8s.IPNamespace', new IPNamespace());
  env.registerFunction('k8s.IPNamespace.isCanonical(string): bool', (_: unknown, s: string) => ipOrThrow(s).toString() === s);
  env.registerFunction('net.IP.family(): int', (ip: CelIP) => BigInt(ip.family));
  env.registerFunction('net.IP.isUnspecified(): bool', isUnspecified);
  env.registerFunction('net.IP.isLoopback(): bool', isLoopback);
  env.registerFunction('net.IP.isLinkLocalMulticast(): bool', isLinkLocalMulticast);
  env.registerFunction('net.IP.isLinkLocalUnicast(): bool', isLinkLocalUnicast);
  env.registerFunction('net.IP.isGlobalUnicast(): bool', isGlobalUnicast);
  env.registerFunction('string(net.IP): string', (ip: CelIP) => ip.toString());
  env.registerOperator('net.IP == net.IP', (a: CelIP, b: CelIP) => a.equals(b));

  env.registerType('net.CIDR', CelCIDR);
  env.registerFunction('cidr(string): net.CIDR', cidrOrThrow);
  env.registerFunction('isCIDR(string): bool', (s: string) => {
    chargeString(s);
    return typeof parseCIDR(s) !== 'string';
  });
  env.registerFunction('net.CIDR.containsIP(net.IP): bool', (c: CelCIDR, ip: CelIP) => c.containsIP(ip));
  env.registerFunction('net.CIDR.containsIP(string): bool', (c: CelCIDR, s: string) => c.containsIP(ipOrThrow(s)));
  env.registerFunction('net.CIDR.containsCIDR(net.CIDR): bool', (c: CelCIDR, o: CelCIDR) => c.containsCIDR(o));
  env.registerFunction('net.CIDR.containsCIDR(string): bool', (c: CelCIDR, s: string) => c.containsCIDR(cidrOrThrow(s)));
  env.registerFunction('net.CIDR.ip(): net.IP', (c: CelCIDR) => c.ip);
  env.registerFunction('net.CIDR.masked(): net.CIDR', (c: CelCIDR) => c.masked());
  env.registerFunction('net.CIDR.prefixLength(): int', (c: CelCIDR) => BigInt(c.bits));
  env.registerFunction('string(net.CIDR): string', (c: CelCIDR) => c.toString());
  env.registerOperator('net.CIDR == net.CIDR', (a: CelCIDR, b: CelCIDR) => a.equals(b));
}

// The cluster's certificates, kept in <dataDir>/pki with kubeadm's file names so that an operator
// who knows Kubernetes finds them where expected.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createCa, issueLeaf, type KeyPair } from './issue.js';

export { userFromCertificate, type CertificateUser } from './identity.js';
export type { KeyPair } from './issue.js';

/** PEM text of every certificate and key `skiff up` needs. */
export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
}

export interface EnsurePkiOptions {
  /** Extra names or addresses clients use to reach the API server; IPs and DNS names are told apart. */
  hosts?: string[];
  /** For tests: the moment certificates are issued and checked against. */
  now?: Date;
}

export interface ClientIdentity {
  commonName: string;
  organizations?: string[];
}

export const CA_COMMON_NAME = 'skiff-ca';
export const SERVER_COMMON_NAME = 'kube-apiserver';
// kubeadm's admin identity: system:masters is bound to cluster-admin by the default RBAC policy.
export const ADMIN_USER = 'kubernetes-admin';
export const ADMIN_GROUP = 'system:masters';

const LEAF_VALIDITY_DAYS = 365;
// Leaves are renewed at start when they would expire within this window, so a server restarted
// now and then never serves an expired certificate.
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

const FILES: Record<keyof Pki, string> = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'apiserver.crt',
  serverKey: 'apiserver.key',
  adminCert: 'admin.crt',
  adminKey: 'admin.key',
};

const WRITE_ORDER: (keyof Pki)[] = ['caKey', 'serverKey', 'serverCert', 'adminKey', 'adminCert', 'caCert'];

/**
 * The names a serving certificate must carry: upstream's in-cluster names, this machine, loopback,
 * and `extra`. Throws on an entry in `extra` that is neither an IP address nor a DNS name.
 */
export function servingHosts(extra: string[] = []): { dnsNames: string[]; ipAddresses: string[] } {
  const dns = new Set([
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ]);
  const ips = new Set(['127.0.0.1', '::1']);
  const add = (raw: string, strict: boolean): void => {
    // Accept "[::1]" as people write IPv6 hosts in URLs; a zone ("%eth0") has no place in a certificate.
    const host = raw.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
    if (isIP(host)) {
      ips.add(canonicalIp(host));
      return;
    }
    const name = host.toLowerCase().replace(/\.$/, '');
    if (DNS_NAME.test(name)) dns.add(name);
    else if (strict) throw new Error(`${JSON.stringify(raw)} is neither an IP address nor a DNS name`);
  };
  // A machine name that is not a valid DNS name (it happens) is left out rather than failing the start.
  add(hostname(), false);
  for (const host of extra) add(host, true);
  return { dnsNames: [...dns], ipAddresses: [...ips] };
}

// Labels of letters, digits, '-' and '_' (Go accepts the latter in SANs), optionally under one
// leading wildcard label.
const DNS_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

// IPv6 has many spellings; the URL parser gives the one with hex groups only, which is also the only
// one @peculiar/x509 encodes correctly (it misreads an embedded dotted IPv4 part).
function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/**
 * Loads the cluster PKI from `<dataDir>/pki`, creating what is missing. The CA is never replaced;
 * the serving certificate is reissued when it does not cover the requested hosts, and any leaf
 * when it no longer matches its key or the CA, or is close to expiry.
 */
export async function ensurePki(dataDir: string, opts: EnsurePkiOptions = {}): Promise<Pki> {
  const now = opts.now ?? new Date();
  const hosts = servingHosts(opts.hosts);
  const dir = join(dataDir, 'pki');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);

  const files = await readAll(dir);
  const written: Partial<Pki> = {};

  let ca: KeyPair;
  if (files.caCert === undefined) {
    // ca.crt is written last, so a lone ca.key is what an interrupted first start leaves behind.
    ca = await createCa(CA_COMMON_NAME, now);
    written.caKey = ca.key;
    written.caCert = ca.cert;
  } else if (files.caKey === undefined) {
    // Making a new CA would silently orphan every certificate the old one signed.
    throw new Error(`${join(dir, FILES.caKey)} is missing; restore it, or remove ${FILES.caCert} to start a new CA`);
  } else {
    ca = { cert: files.caCert, key: files.caKey };
    checkCa(ca, dir);
  }
  const caX509 = new X509Certificate(ca.cert);

  const loadedServer = pair(files.serverCert, files.serverKey);
  const loadedAdmin = pair(files.adminCert, files.adminKey);
  const [server, admin] = await Promise.all([
    loadedServer && leafUsable(loadedServer, caX509, now) && covers(loadedServer, hosts)
      ? loadedServer
      : issueLeaf(ca, { commonName: SERVER_COMMON_NAME, usage: 'server', ...hosts, validityDays: LEAF_VALIDITY_DAYS }, now),
    loadedAdmin && leafUsable(loadedAdmin, caX509, now)
      ? loadedAdmin
      : issueLeaf(
          ca,
          { commonName: ADMIN_USER, organizations: [ADMIN_GROUP], usage: 'client', validityDays: LEAF_VALIDITY_DAYS },
          now,
        ),
  ]);
  if (server !== loadedServer) Object.assign(written, { serverKey: server.key, serverCert: server.cert });
  if (admin !== loadedAdmin) Object.assign(written, { adminKey: admin.key, adminCert: admin.cert });

  // Keys before their certificates and the CA certificate last: whatever an interrupted start
  // leaves behind is reissued by the next one, and no certificate outlives its key.
  for (const field of WRITE_ORDER) {
    const text = written[field];
    if (text !== undefined) await writeAtomic(join(dir, FILES[field]), text, field.endsWith('Key') ? 0o600 : 0o644);
  }
  for (const field of ['caKey', 'serverKey', 'adminKey'] as const) {
    if (!(field in written)) await chmod(join(dir, FILES[field]), 0o600);
  }

  return {
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
  };
}

/** A client certificate for `commonName` in groups `organizations`, signed by the cluster CA. */
export async function issueClientCert(pki: Pick<Pki, 'caCert' | 'caKey'>, identity: ClientIdentity): Promise<KeyPair> {
  return issueLeaf(
    { cert: pki.caCert, key: pki.caKey },
    { commonName: identity.commonName, organizations: identity.organizations ?? [], usage: 'client', validityDays: LEAF_VALIDITY_DAYS },
  );
}

async function readAll(dir: string): Promise<Partial<Pki>> {
  const entries = await Promise.all(
    (Object.keys(FILES) as (keyof Pki)[]).map(async (field) => {
      try {
        return [field, await readFile(join(dir, FILES[field]), 'utf8')] as const;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [field, undefined] as const;
        throw err;
      }
    }),
  );
  return Object.fromEntries(entries) as Partial<Pki>;
}

function pair(cert: string | undefined, key: string | undefined): KeyPair | undefined {
  return cert !== undefined && key !== undefined ? { cert, key } : undefined;
}

function checkCa(ca: KeyPair, dir: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(ca.cert);
    if (!cert.ca) throw new Error('not a CA certificate');
    if (!cert.checkPrivateKey(createPrivateKey(ca.key))) throw new Error('ca.key does not belong to ca.crt');
  } catch (err) {
    throw new Error(`cluster CA in ${dir} is unusable: ${(err as Error).message}`);
  }
}

function leafUsable(leaf: KeyPair, ca: X509Certificate, now: Date): boolean {
  try {
    const cert = new X509Certificate(leaf.cert);
    return (
      cert.checkPrivateKey(createPrivateKey(leaf.key)) &&
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      new Date(cert.validTo).getTime() - now.getTime() > RENEW_BEFORE_MS
    );
  } catch {
    return false;
  }
}

// Checked the way a client checks: a host is covered when a TLS client would accept the
// certificate for it, so a wildcard SAN covers the names under it.
function covers(leaf: KeyPair, hosts: { dnsNames: string[]; ipAddresses: string[] }): boolean {
  const cert = new X509Certificate(leaf.cert);
  const sans = new Set((cert.subjectAltName ?? '').split(', '));
  return (
    hosts.ipAddresses.every((ip) => cert.checkIP(ip) !== undefined) &&
    hosts.dnsNames.every((name) => sans.has(`DNS:${name}`) || cert.checkHost(name, { subject: 'never' }) !== undefined)
  );
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/**
 * Joining a cluster with a bootstrap token, as kubeadm join and the kubelet's TLS bootstrap do it:
 *
 * 1. discovery: fetch the `cluster-info` ConfigMap from kube-public anonymously (the API server's
 *    certificate cannot be checked yet), trust it only if its kubeconfig carries a valid detached
 *    JWS made with the token (and, if given, the CA's public key matches a pinned hash), then read
 *    it once more with the CA now trusted;
 * 2. TLS bootstrap: with the token as bearer, ask for a client certificate for
 *    system:node:<name> (O=system:nodes) from the kube-apiserver-client-kubelet signer with a
 *    CertificateSigningRequest for a new P-256 key, and wait until it is approved and signed;
 * 3. write `<root>/kubeconfig` (the node's credentials) and its key and certificate (0600).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import { HttpsClient } from '../../client/https.js';
import type { Client } from '../../client/interface.js';
import { writeAdminKubeconfig } from '../../cli/kubeconfig.js';
import { createCertificateRequest } from '../../pki/issue.js';
import { CLUSTER_INFO, CLUSTER_INFO_NAMESPACE, detachedSignatureIsValid, JWS_KEY_PREFIX, KUBECONFIG_KEY, parseToken } from '../../cluster-bootstrap/token.js';
import { CSRS, KUBE_APISERVER_CLIENT_KUBELET_SIGNER } from '../../controllers/certificates/csr.js';

/** A node's credentials: its client certificate and key, and the cluster CA (PEM). */
export interface NodeCredentials {
  server: string;
  caCert: string;
  cert: string;
  key: string;
}

export class JoinError extends Error {}

/** `sha256:<hex>` of a certificate's SubjectPublicKeyInfo: kubeadm's --discovery-token-ca-cert-hash. */
export function caCertHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

function getJson(url: URL, tls: { ca?: string }): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      // Only discovery's first read goes unverified: nothing read there is trusted before its JWS checks out.
      { method: 'GET', headers: { Accept: 'application/json' }, ...(tls.ca ? { ca: tls.ca } : { rejectUnauthorized: false }), agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function fetchClusterInfo(server: string, ca?: string): Promise<KubeObject> {
  const url = new URL(`/api/v1/namespaces/${CLUSTER_INFO_NAMESPACE}/configmaps/${CLUSTER_INFO}`, server);
  let answer;
  try {
    answer = await getJson(url, { ca });
  } catch (err) {
    throw new JoinError(`failed to request the cluster-info ConfigMap from ${server}: ${(err as Error).message}`);
  }
  if (answer.code !== 200) throw new JoinError(`failed to request the cluster-info ConfigMap from ${server}: the server answered ${answer.code}: ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body) as KubeObject;
}

/** Discovery: the cluster CA, trusted because cluster-info is signed with the token. */
export async function discoverCluster(server: string, token: string, caCertHashes: string[] = []): Promise<string> {
  const parts = parseToken(token);
  if (!parts) throw new JoinError(`the bootstrap token "${token.replace(/\..*/, '.<secret>')}" was not of the form "[a-z0-9]{6}.[a-z0-9]{16}"`);
  const info = await fetchClusterInfo(server);
  const content = info.data?.[KUBECONFIG_KEY];
  if (typeof content !== 'string') throw new JoinError('there is no kubeconfig in the cluster-info ConfigMap');
  const signature = info.data?.[JWS_KEY_PREFIX + parts.id];
  if (typeof signature !== 'string') {
    throw new JoinError(`there is no JWS signed token in the cluster-info ConfigMap. This token id "${parts.id}" is invalid for this cluster, or it has expired. Use "skiff token create" on the control-plane node to create a new valid token`);
  }
  if (!detachedSignatureIsValid(signature, content, parts.id, parts.secret)) {
    throw new JoinError("failed to verify JWS signature of received cluster info object, can't trust this API Server");
  }
  const kubeconfig = parseYaml(content) as { clusters?: { cluster?: Record<string, string> }[] };
  const caData = kubeconfig?.clusters?.[0]?.cluster?.['certificate-authority-data'];
  if (!caData) throw new JoinError('the cluster-info kubeconfig has no certificate-authority-data');
  const caCert = Buffer.from(caData, 'base64').toString('utf8');
  if (caCertHashes.length > 0) {
    const actual = caCertHash(caCert);
    if (!caCertHashes.map((h) => h.toLowerCase()).includes(actual)) {
      throw new JoinError(`cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${actual}" are pinned`);
    }
  }
  // Read it again over a verified connection: the server must hold the key of the CA just trusted.
  const again = await fetchClusterInfo(server, caCert);
  if (again.data?.[KUBECONFIG_KEY] !== content) throw new JoinError('the cluster-info ConfigMap changed between discovery and verification');
  return caCert;
}

/** `node-csr-<digest>`: the kubelet's bootstrap CSR name, the same for the same key and subject. */
function bootstrapCsrName(csrPem: string, nodeName: string): string {
  return `node-csr-${createHash('sha512').update(csrPem).update(nodeName).digest('base64url').slice(0, 43)}`;
}

export interface CertificateRequestOptions {
  nodeName: string;
  /** Name the CSR (bootstrap) or let the server generate one (`csr-…`, rotation). */
  bootstrap: boolean;
  /** How long to wait for approval and signing (default 15 minutes). */
  timeoutMs?: number;
  log?: (m: string) => void;
}

/**
 * Asks for a node client certificate through `client` (as whoever it authenticates) and waits
 * for it: a new key, a CSR, then approval and signing by the controllers.
 */
export async function requestNodeCertificate(client: Client, opts: CertificateRequestOptions): Promise<{ cert: string; key: string; csrName: string }> {
  const { csr, key } = await createCertificateRequest({ commonName: `system:node:${opts.nodeName}`, organizations: ['system:nodes'] });
  const name = opts.bootstrap ? bootstrapCsrName(csr, opts.nodeName) : '';
  let made: KubeObject;
  try {
    made = await client.create(CSRS, '', {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: name ? { name } : { generateName: 'csr-' },
      spec: { request: Buffer.from(csr).toString('base64'), signerName: KUBE_APISERVER_CLIENT_KUBELET_SIGNER, usages: ['digital signature', 'client auth'] },
    });
  } catch (err) {
    if (err instanceof ApiError && err.code === 401) throw new JoinError('the API server refused the bootstrap token (401 Unauthorized): it is wrong, expired or deleted');
    if (err instanceof ApiError && err.code === 403) throw new JoinError(`the API server refused the certificate signing request: ${err.message}`);
    throw err;
  }
  const csrName = made.metadata!.name!;
  opts.log?.(`certificate signing request ${csrName} created; waiting for approval`);
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
    const cur = await client.get(CSRS, '', csrName);
    const conditions = (cur.status?.conditions ?? []) as { type: string; reason?: string; message?: string }[];
    const denied = conditions.find((c) => c.type === 'Denied' || c.type === 'Failed');
    if (denied) throw new JoinError(`certificate signing request ${csrName} was ${denied.type === 'Denied' ? 'denied' : 'not signed'}: ${denied.reason ?? ''} ${denied.message ?? ''}`.trim());
    if (typeof cur.status?.certificate === 'string' && cur.status.certificate) {
      return { cert: Buffer.from(cur.status.certificate, 'base64').toString('utf8'), key, csrName };
    }
    if (Date.now() > deadline) throw new JoinError(`timed out waiting for certificate signing request ${csrName} to be approved and signed`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Where a node keeps its credentials under its root dir, with the kubelet's file names. */
export function credentialPaths(root: string): { kubeconfig: string; pem: string; ca: string } {
  return { kubeconfig: join(root, 'kubeconfig'), pem: join(root, 'pki', 'kubelet-client-current.pem'), ca: join(root, 'pki', 'ca.crt') };
}

async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Writes the node's kubeconfig and its key+certificate file (0600) and the CA. */
export async function saveCredentials(root: string, creds: NodeCredentials): Promise<void> {
  const paths = credentialPaths(root);
  await mkdir(join(root, 'pki'), { recursive: true, mode: 0o700 });
  await writePrivate(paths.pem, creds.cert + creds.key);
  await writePrivate(paths.ca, creds.caCert);
  await writeAdminKubeconfig(paths.kubeconfig, {
    server: creds.server,
    pki: { caCert: creds.caCert, adminCert: creds.cert, adminKey: creds.key },
    clusterName: 'default-cluster',
    userName: 'default-auth',
    contextName: 'default-context',
  });
}

/** The credentials a previous join left, if they are there and their certificate has not expired. */
export async function loadCredentials(root: string, now = Date.now()): Promise<NodeCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(credentialPaths(root).kubeconfig, 'utf8');
  } catch {
    return undefined;
  }
  const cfg = parseYaml(text) as { clusters?: { cluster?: Record<string, string> }[]; users?: { user?: Record<string, string> }[] };
  const cluster = cfg?.clusters?.[0]?.cluster;
  const user = cfg?.users?.[0]?.user;
  const b64 = (v: string | undefined) => (v ? Buffer.from(v, 'base64').toString('utf8') : '');
  const creds = { server: cluster?.server ?? '', caCert: b64(cluster?.['certificate-authority-data']), cert: b64(user?.['client-certificate-data']), key: b64(user?.['client-key-data']) };
  if (!creds.server || !creds.caCert || !creds.cert || !creds.key) return undefined;
  try {
    if (Date.parse(new X509Certificate(creds.cert).validTo) <= now) return undefined;
  } catch {
    return undefined;
  }
  return creds;
}

/** Discovery and TLS bootstrap: the node's first credentials, saved under `root`. */
export async function joinWithToken(opts: { server: string; token: string; caCertHashes?: string[]; nodeName: string; root: string; log?: (m: string) => void }): Promise<NodeCredentials> {
  const caCert = await discoverCluster(opts.server, opts.token, opts.caCertHashes);
  opts.log?.(`cluster-info verified with the token; requesting a client certificate for system:node:${opts.nodeName}`);
  const bootstrapClient = new HttpsClient({ server: opts.server, ca: caCert, token: opts.token });
  try {
    const { cert, key } = await requestNodeCertificate(bootstrapClient, { nodeName: opts.nodeName, bootstrap: true, log: opts.log });
    const creds = { server: opts.server, caCert, cert, key };
    await saveCredentials(opts.root, creds);
    return creds;
  } finally {
    bootstrapClient.close();
  }
}

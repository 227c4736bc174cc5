/**
 * The API server's client certificate for node agents, kept beside the cluster PKI under kubeadm's
 * names (apiserver-kubelet-client.crt/.key): CN kube-apiserver-kubelet-client, O system:masters.
 * Issued at the first start, reused after, reissued when it no longer matches the CA or nears expiry.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueClientCert, type Pki } from '../pki/certs.js';
import type { KeyPair } from '../pki/issue.js';

export const KUBELET_CLIENT_COMMON_NAME = 'kube-apiserver-kubelet-client';
export const KUBELET_CLIENT_GROUP = 'system:masters';

const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

export async function ensureKubeletClientCert(dataDir: string, pki: Pick<Pki, 'caCert' | 'caKey'>, now = new Date()): Promise<KeyPair> {
  const certPath = join(dataDir, 'pki', 'apiserver-kubelet-client.crt');
  const keyPath = join(dataDir, 'pki', 'apiserver-kubelet-client.key');
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8').catch(() => undefined), readFile(keyPath, 'utf8').catch(() => undefined)]);
  if (cert && key && usable(cert, key, pki.caCert, now)) return { cert, key };
  const issued = await issueClientCert(pki, { commonName: KUBELET_CLIENT_COMMON_NAME, organizations: [KUBELET_CLIENT_GROUP] });
  // The key before its certificate, so an interrupted write is reissued next time.
  await writeAtomic(keyPath, issued.key, 0o600);
  await writeAtomic(certPath, issued.cert, 0o644);
  return issued;
}

function usable(cert: string, key: string, caCert: string, now: Date): boolean {
  try {
    const c = new X509Certificate(cert);
    const ca = new X509Certificate(caCert);
    return c.checkPrivateKey(createPrivateKey(key)) && c.checkIssued(ca) && c.verify(ca.publicKey) && new Date(c.validTo).getTime() - now.getTime() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

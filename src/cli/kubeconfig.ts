// The admin kubeconfig `skiff up` hands to kubectl and the client libraries. Credentials are
// embedded (the *-data fields) rather than referenced by path, so the file keeps working when
// copied to another machine or into a container.
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import type { KeyPair, Pki } from '../pki/certs.js';

export interface KubeconfigOptions {
  /** The API server's URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  pki: Pick<Pki, 'caCert' | 'adminCert' | 'adminKey'>;
  /** Credentials to use instead of the admin's, e.g. a node's from issueClientCert. */
  client?: KeyPair;
  clusterName?: string;
  userName?: string;
  contextName?: string;
}

/** The subset of client-go's `Config` (clientcmd/api/v1) that skiff writes. */
export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  preferences: Record<string, never>;
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
}

const base64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

export function kubeconfigFor(opts: KubeconfigOptions): Kubeconfig {
  const cluster = opts.clusterName ?? 'skiff';
  const user = opts.userName ?? 'skiff';
  const context = opts.contextName ?? 'skiff';
  const client = opts.client ?? { cert: opts.pki.adminCert, key: opts.pki.adminKey };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: cluster, cluster: { server: opts.server, 'certificate-authority-data': base64(opts.pki.caCert) } }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': base64(client.cert), 'client-key-data': base64(client.key) },
      },
    ],
    contexts: [{ name: context, context: { cluster, user } }],
    'current-context': context,
  };
}

/**
 * Writes the admin kubeconfig (or another client's, see `client`) to `path` (mode 0600: it holds a cluster-admin key), replacing the
 * file whole so a reader never sees half of it.
 */
export async function writeAdminKubeconfig(path: string, opts: KubeconfigOptions): Promise<Kubeconfig> {
  const config = kubeconfigFor(opts);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, stringify(config), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return config;
}

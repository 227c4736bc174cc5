/**
 * The client a node joined with a token talks through: its saved credentials when a previous
 * start left valid ones (a restart does not join again), else a fresh join; then kept current by
 * the certificate manager.
 */
import { HttpsClient } from '../../client/https.js';
import { credentialPaths, JoinError, joinWithToken, loadCredentials } from './bootstrap.js';
import { ClientCertificateManager } from './manager.js';

export interface NodeClientOptions {
  /** The agent's root dir: `<root>/kubeconfig` holds the node's credentials. */
  root: string;
  nodeName: string;
  /** The API server (required to join; overrides the saved one otherwise). */
  server?: string;
  token?: string;
  caCertHashes?: string[];
  log?: (m: string) => void;
}

export interface NodeClient {
  client: HttpsClient;
  clusterCA: string;
  manager: ClientCertificateManager;
  /** Whether this start joined (false: saved credentials were reused). */
  joined: boolean;
  stop(): void;
}

export async function startNodeClient(opts: NodeClientOptions): Promise<NodeClient> {
  let creds = await loadCredentials(opts.root);
  const joined = !creds;
  if (creds) {
    opts.log?.(`using the node credentials in ${credentialPaths(opts.root).kubeconfig}`);
  } else {
    if (!opts.token) throw new JoinError(`no valid node credentials in ${credentialPaths(opts.root).kubeconfig}, and no --token to join with`);
    if (!opts.server) throw new JoinError('joining with --token needs --server https://HOST:PORT');
    creds = await joinWithToken({ server: opts.server, token: opts.token, caCertHashes: opts.caCertHashes, nodeName: opts.nodeName, root: opts.root, log: opts.log });
  }
  const server = opts.server ?? creds.server;
  const client = new HttpsClient({ server, ca: creds.caCert, cert: creds.cert, key: creds.key });
  const manager = new ClientCertificateManager(client, { ...creds, server }, { nodeName: opts.nodeName, root: opts.root, log: opts.log });
  manager.start();
  return {
    client,
    clusterCA: creds.caCert,
    manager,
    joined,
    stop() {
      manager.stop();
      client.close();
    },
  };
}

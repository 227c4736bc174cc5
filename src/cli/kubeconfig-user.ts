/**
 * `skiff kubeconfig user`: a kubeconfig for someone else, after `kubeadm kubeconfig user`. The
 * client certificate is signed with the cluster CA in the data dir, so this runs on a control-plane
 * machine; what the user may do is decided by RBAC bindings to the name and groups , e.g.
 * `kubectl create rolebinding alice-view --clusterrole view --user alice -n team`.
 */
import { parseArgs } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { issueClientCert } from '../pki/certs.js';
import { kubeconfigFor } from './kubeconfig.js';
import { UsageError } from './flags.js';

export const KUBECONFIG_USER_USAGE = `skiff kubeconfig user flags:
  --name NAME             the user name (the certificate's CN)
  --group GROUP           a group the user is in (the certificate's O; repeatable)
  --data-dir DIR          the control plane's data dir, whose CA signs the certificate (default $SKIFF_DATA_DIR or ./.skiff)
  --server URL            the API server's URL (default: the one in the data dir's admin kubeconfig)
  --out FILE              write the kubeconfig to FILE (mode 0600) instead of stdout
`;

export async function kubeconfigCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'user') throw new UsageError(`skiff kubeconfig: unknown subcommand ${JSON.stringify(sub ?? '')}; try skiff kubeconfig user --name NAME`);
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, group: { type: 'string', multiple: true }, 'data-dir': { type: 'string' }, server: { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  const name = values.name?.trim();
  if (!name) throw new UsageError('skiff kubeconfig user needs --name NAME');
  // system:masters bypasses authorization entirely; handing it out through here would be an accident.
  if ((values.group ?? []).includes('system:masters')) throw new UsageError('--group system:masters would make the user a cluster administrator that RBAC cannot restrict; bind cluster-admin instead');
  const dataDir = resolve(values['data-dir'] ?? process.env.SKIFF_DATA_DIR ?? '.skiff');
  const pki = join(dataDir, 'pki');
  const [caCert, caKey] = await Promise.all([readFile(join(pki, 'ca.crt'), 'utf8'), readFile(join(pki, 'ca.key'), 'utf8')]).catch((err: Error) => {
    throw new UsageError(`cannot read the cluster CA in ${pki} (${err.message}); run this on a control-plane machine with its --data-dir`);
  });
  const server = values.server ?? (await adminServer(join(dataDir, 'kubeconfig')));
  const client = await issueClientCert({ caCert, caKey }, { commonName: name, organizations: values.group ?? [] });
  const config = kubeconfigFor({ server, pki: { caCert, adminCert: client.cert, adminKey: client.key }, userName: name, contextName: `${name}@skiff` });
  const text = stringify(config);
  if (values.out) await writeFile(resolve(values.out), text, { mode: 0o600 });
  else process.stdout.write(text);
}

async function adminServer(path: string): Promise<string> {
  try {
    const doc = parseYaml(await readFile(path, 'utf8')) as { clusters?: { cluster?: { server?: string } }[] };
    const server = doc?.clusters?.[0]?.cluster?.server;
    if (server) return server;
  } catch {
    // Fall through to the usage error below.
  }
  throw new UsageError(`no server URL: pass --server (the data dir's kubeconfig ${path} names none)`);
}

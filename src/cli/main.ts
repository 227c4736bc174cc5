/** The `skiff` command: `up` (a whole cluster on this machine) and `version`. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startControlPlane } from '../cluster/control-plane.js';
import { versionInfo } from '../apiserver/discovery.js';

const USAGE = `usage: skiff <command> [flags]

commands:
  up        start a cluster on this machine (API server, controllers; embedded SQLite store by default)
  version   print the version

skiff up flags:
  --data-dir DIR          where state, certificates and the kubeconfig live (default $SKIFF_DATA_DIR or ./.skiff)
  --port N                HTTPS port of the API server (default 6443)
  --bind-address ADDR     address to listen on (default 0.0.0.0)
  --storage sqlite|etcd   the store (default sqlite)
  --etcd-endpoints URLS   comma-separated etcd client URLs (with --storage etcd)
  --tls-san NAME          extra name or IP for the serving certificate (repeatable)
  --service-cluster-ip-range CIDR   where Service cluster IPs come from (default 10.96.0.0/12)
`;

async function up(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      'bind-address': { type: 'string' },
      storage: { type: 'string' },
      'etcd-endpoints': { type: 'string' },
      'etcd-prefix': { type: 'string' },
      'tls-san': { type: 'string', multiple: true },
      'service-cluster-ip-range': { type: 'string' },
    },
    strict: true,
  });
  const storage = values.storage ?? 'sqlite';
  if (storage !== 'sqlite' && storage !== 'etcd') throw new UsageError(`--storage must be sqlite or etcd, not ${storage}`);
  const port = Number(values.port ?? '6443');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, not ${values.port}`);
  const dataDir = resolve(values['data-dir'] ?? process.env.SKIFF_DATA_DIR ?? '.skiff');
  const started = Date.now();
  const cp = await startControlPlane({
    dataDir,
    port,
    bindAddress: values['bind-address'],
    storage,
    etcdEndpoints: values['etcd-endpoints']?.split(',').map((s) => s.trim()).filter(Boolean),
    etcdPrefix: values['etcd-prefix'],
    hosts: values['tls-san'],
    serviceCidr: values['service-cluster-ip-range'],
  });
  console.log(`skiff: API server ready at ${cp.url} (${storage} store, ${Date.now() - started} ms)`);
  console.log(`skiff: to use it:\n  export KUBECONFIG=${cp.kubeconfigPath}\n  kubectl get namespaces`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`skiff: ${signal}: stopping`);
    cp.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`skiff: error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
      return up(rest);
    case 'version':
      console.log(JSON.stringify(versionInfo(), null, 2));
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main().catch((err) => {
  const code = (err as { code?: unknown }).code;
  if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    console.error(`skiff: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error(`skiff: ${(err as Error).stack ?? err}`);
  process.exit(1);
});

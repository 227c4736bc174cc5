/** The `skiff` command: `up` (a whole cluster on this machine), `server` (a control plane) and `version`. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startControlPlane } from '../cluster/control-plane.js';
import { versionInfo } from '../apiserver/discovery.js';
import { enabledControllers } from '../controllers/manager.js';

const USAGE = `usage: skiff <command> [flags]

commands:
  up        start a cluster on this machine (API server, controllers, scheduler; embedded SQLite store by default)
  server    start a control plane only (API server, controllers, scheduler); several on one etcd elect a leader
  version   print the version

skiff up / skiff server flags:
  --data-dir DIR          where state, certificates and the kubeconfig live (default $SKIFF_DATA_DIR or ./.skiff)
  --port N                HTTPS port of the API server (default 6443)
  --bind-address ADDR     address to listen on (default 0.0.0.0)
  --storage sqlite|etcd   the store (default sqlite)
  --etcd-endpoints URLS   comma-separated etcd client URLs (with --storage etcd)
  --tls-san NAME          extra name or IP for the serving certificate (repeatable)
  --service-cluster-ip-range CIDR   where Service cluster IPs come from (default 10.96.0.0/12)
  --leader-elect true|false         run controllers and scheduler only while holding their Leases
                                    (default true on etcd, false on sqlite)
  --controllers LIST      controllers to run, kube-controller-manager style: '*' (default), names, -name
  --leader-elect-lease-duration D   how long followers wait before taking over (default 15s)
  --leader-elect-renew-deadline D   how long a leader retries renewing before it steps down (default 10s)
  --leader-elect-retry-period D     how often candidates try to acquire or renew (default 2s)
`;

async function up(argv: string[], command: 'up' | 'server'): Promise<void> {
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
      'leader-elect': { type: 'string' },
      controllers: { type: 'string' },
      'leader-elect-lease-duration': { type: 'string' },
      'leader-elect-renew-deadline': { type: 'string' },
      'leader-elect-retry-period': { type: 'string' },
    },
    strict: true,
  });
  const storage = values.storage ?? 'sqlite';
  if (storage !== 'sqlite' && storage !== 'etcd') throw new UsageError(`--storage must be sqlite or etcd, not ${storage}`);
  const port = Number(values.port ?? '6443');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, not ${values.port}`);
  const leaderElect = values['leader-elect'] === undefined ? undefined : parseBool('--leader-elect', values['leader-elect']);
  if (leaderElect && storage === 'sqlite') throw new UsageError('--leader-elect needs --storage etcd: a SQLite store serves one server only');
  const controllers = values.controllers?.split(',').map((c) => c.trim()).filter(Boolean);
  try {
    enabledControllers(controllers);
  } catch (err) {
    throw new UsageError(`--controllers: ${(err as Error).message}`);
  }
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
    leaderElect,
    election: {
      leaseDurationSeconds: seconds('--leader-elect-lease-duration', values['leader-elect-lease-duration']),
      renewDeadlineSeconds: seconds('--leader-elect-renew-deadline', values['leader-elect-renew-deadline']),
      retryPeriodSeconds: seconds('--leader-elect-retry-period', values['leader-elect-retry-period']),
    },
    controllers,
  });
  console.log(`skiff ${command}: API server ready at ${cp.url} (${storage} store, ${Date.now() - started} ms)`);
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

/** A duration flag as seconds: `15s`, `1m`, `500ms`, or a bare number of seconds. */
function seconds(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag} must be a duration like 15s or 500ms, not ${v}`);
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * scale;
}

function parseBool(flag: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`${flag} must be true or false, not ${v}`);
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
    case 'server':
      return up(rest, cmd);
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

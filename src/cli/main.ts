/** The `skiff` command: `up` (a whole cluster on this machine), `server` (a control plane), `agent` (nodes) and `version`. */
import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { startControlPlane } from '../cluster/control-plane.js';
import { versionInfo } from '../apiserver/discovery.js';
import { enabledControllers } from '../controllers/manager.js';
import { HttpsClient } from '../client/https.js';
import { SimulatedAgent } from '../agent/simulated/agent.js';
import { startLocalAgent, type LocalAgentOptions } from '../agent/local.js';
import { defaultNodeName } from '../agent/local-node.js';
import { HostNotReadyError } from '../agent/host/prepare.js';
import type { ControllerSettings } from '../controllers/manager.js';
import { doctorCommand, DOCTOR_USAGE } from '../agent/host/doctor.js';
import { kubeconfigCommand, KUBECONFIG_USER_USAGE } from './kubeconfig-user.js';
import { rewriteResources } from '../apiserver/encryption/rewrite.js';
import { tokenCommand, TOKEN_USAGE } from './token.js';
import { startNodeClient } from '../agent/certificate/node-client.js';
import { JoinError } from '../agent/certificate/bootstrap.js';
import { durationMs, parseBool, parseCount, simulatedNodeOptions, SIMULATED_NODE_FLAGS, SIMULATED_NODE_USAGE, UsageError } from './flags.js';

const USAGE = `usage: skiff <command> [flags]

commands:
  up        start a cluster on this machine (API server, controllers, scheduler; embedded SQLite store by default)
  server    start a control plane only (API server, controllers, scheduler); several on one etcd elect a leader
  agent     run this machine's node (or --simulated nodes) against a remote API server
  kubeconfig user  a kubeconfig for another user, signed by this cluster's CA (bind roles to it with RBAC)
  encryption rewrite   re-encrypt stored objects with the current primary key (after a key rotation)
  token     manage bootstrap tokens nodes join with (create, list, delete), as kubeadm token
  doctor    check that this host can run real pods (crun, conmon, CNI, cgroups…); --fix applies safe fixes
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
  --node-monitor-grace-period D     how long a node may go without renewing its Lease before it is
                                    marked Unknown and tainted unreachable (default 40s)
  --cluster-cidr CIDR     where nodes' pod CIDRs are cut from (default 10.244.0.0/16)
  --node-cidr-mask-size N the size of each node's pod CIDR (default 24)
  --encryption-provider-config FILE  an apiserver.config.k8s.io/v1 EncryptionConfiguration: the resources
                                    it names are encrypted at rest (aesgcm, aescbc, identity; no kms, no
                                    secretbox). After changing keys, run skiff encryption rewrite.
  --audit-log-path FILE   write audit.k8s.io/v1 Events as JSON lines to FILE ('-' for stdout); events
                          are buffered and written in batches, and dropped (and counted) when the
                          buffer is full, like upstream's batch mode
  --audit-policy-file F   an audit.k8s.io/v1 Policy; without one, every request is recorded at
                          Metadata level (upstream records nothing without a policy file)
  --audit-log-maxsize MB  rotate the audit log when it grows past MB megabytes
  --audit-log-maxbackup N keep at most N rotated audit logs
  --request-timeout D     the longest a request other than a watch or stream may take (default 1m0s)
  --max-requests-inflight N, --max-mutating-requests-inflight N
                          summed, the seats that priority and fairness shares out (default 400 + 200)

skiff up only:
  --simulated-nodes N     also run N simulated nodes (sim-0 ... sim-N-1, labelled skiff.dev/simulated=true):
                          pods go through their whole lifecycle without running any process
  --no-agent              run no local node (by default skiff up runs this machine's node: real
                          containers with crun, which needs root; see skiff doctor)
  --simulated-nodes implies --no-agent.
${SIMULATED_NODE_USAGE}
node agent flags (skiff up, skiff agent):
  --node-name NAME        the Node's name (default: the host name)
  --root-dir DIR          agent state: images, containers, volumes, logs (default <data-dir>/agent for
                          skiff up, /var/lib/skiff/agent for skiff agent)
  --kubelet-port N        the port the API server reaches the agent on for logs/exec (default 10250)
  --node-ip ADDR          the address the Node reports (default: the host's first IPv4)
  --registry-mirror R=URL pull images of registry R from URL first (repeatable), e.g.
                          docker.io=http://127.0.0.1:5001
  --run-dir DIR           volatile agent state: namespace mounts, crun state (default /run/skiff)
  --cni-bridge NAME       the pod bridge (default skiff0)
  --cgroup-root NAME      the cgroup pods go under (default skiff)
  (two agents on one machine need their own --root-dir, --run-dir, --cni-bridge, --cgroup-root,
   --kubelet-port and non-overlapping --cluster-cidr)

skiff encryption rewrite flags:
  --kubeconfig FILE       credentials and server (default $KUBECONFIG)
  --resources LIST        comma-separated resources to rewrite, e.g. secrets,configmaps,deployments.apps
                          (default secrets)

skiff agent flags:
  --kubeconfig FILE       credentials and server (default $KUBECONFIG)
  --server URL            override the kubeconfig's server
  --simulated             run simulated nodes instead of this machine's node
  --nodes N               how many simulated nodes (default 1)
  --token TOKEN           join with a bootstrap token (skiff token create): discover the cluster at
                          --server, get a node client certificate, keep it in <root-dir>/kubeconfig
                          (reused on restart, rotated before it expires); --simulated joins one node
  --discovery-token-ca-cert-hash sha256:HEX   pin the cluster CA's public key (repeatable)
${SIMULATED_NODE_USAGE}
${TOKEN_USAGE}
${DOCTOR_USAGE}
${KUBECONFIG_USER_USAGE}`;

const CONTROL_PLANE_FLAGS = {
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
  'node-monitor-grace-period': { type: 'string' },
  'cluster-cidr': { type: 'string' },
  'node-cidr-mask-size': { type: 'string' },
  'encryption-provider-config': { type: 'string' },
  'audit-log-path': { type: 'string' },
  'audit-policy-file': { type: 'string' },
  'audit-log-maxsize': { type: 'string' },
  'audit-log-maxbackup': { type: 'string' },
  'request-timeout': { type: 'string' },
  'max-requests-inflight': { type: 'string' },
  'max-mutating-requests-inflight': { type: 'string' },
} as const;

const AGENT_FLAGS = {
  'node-name': { type: 'string' },
  'root-dir': { type: 'string' },
  'kubelet-port': { type: 'string' },
  'node-ip': { type: 'string' },
  'registry-mirror': { type: 'string', multiple: true },
  'run-dir': { type: 'string' },
  'cni-bridge': { type: 'string' },
  'cgroup-root': { type: 'string' },
} as const;

/** The real agent's options from its flags. */
function agentOptions(v: Record<string, unknown>, defaultRoot: string): Omit<LocalAgentOptions, 'clusterCA'> {
  const mirrors: Record<string, string[]> = {};
  for (const m of (v['registry-mirror'] as string[] | undefined) ?? []) {
    const eq = m.indexOf('=');
    if (eq <= 0 || !/^https?:\/\//.test(m.slice(eq + 1))) throw new UsageError(`--registry-mirror wants REGISTRY=URL (http:// or https://), not ${m}`);
    (mirrors[m.slice(0, eq)] ??= []).push(m.slice(eq + 1));
  }
  const port = v['kubelet-port'] === undefined ? 10250 : parseCount('--kubelet-port', String(v['kubelet-port']));
  if (port > 65535) throw new UsageError(`--kubelet-port must be a port number, not ${v['kubelet-port']}`);
  return {
    nodeName: v['node-name'] as string | undefined,
    root: resolve((v['root-dir'] as string | undefined) ?? defaultRoot),
    port,
    nodeIP: v['node-ip'] as string | undefined,
    mirrors,
    runDir: v['run-dir'] === undefined ? undefined : resolve(String(v['run-dir'])),
    bridge: v['cni-bridge'] as string | undefined,
    cgroupRoot: v['cgroup-root'] as string | undefined,
  };
}

async function up(argv: string[], command: 'up' | 'server'): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...CONTROL_PLANE_FLAGS,
      ...(command === 'up' ? { 'simulated-nodes': { type: 'string' }, 'no-agent': { type: 'boolean' }, ...SIMULATED_NODE_FLAGS, ...AGENT_FLAGS } : {}),
    },
    strict: true,
  });
  const v = values as Record<string, string | undefined> & { 'tls-san'?: string[]; 'no-agent'?: boolean };
  const storage = v.storage ?? 'sqlite';
  if (storage !== 'sqlite' && storage !== 'etcd') throw new UsageError(`--storage must be sqlite or etcd, not ${storage}`);
  const port = parseCount('--port', v.port ?? '6443');
  if (port > 65535) throw new UsageError(`--port must be a port number, not ${v.port}`);
  const leaderElect = v['leader-elect'] === undefined ? undefined : parseBool('--leader-elect', v['leader-elect']);
  if (leaderElect && storage === 'sqlite') throw new UsageError('--leader-elect needs --storage etcd: a SQLite store serves one server only');
  const controllers = v.controllers?.split(',').map((c) => c.trim()).filter(Boolean);
  try {
    enabledControllers(controllers);
  } catch (err) {
    throw new UsageError(`--controllers: ${(err as Error).message}`);
  }
  const simulatedNodes = v['simulated-nodes'] === undefined ? 0 : parseCount('--simulated-nodes', v['simulated-nodes']);
  const simulated = simulatedNodes > 0 ? simulatedNodeOptions(simulatedNodes, values as Record<string, string>) : undefined;
  const seconds = (flag: string) => {
    const ms = durationMs(`--${flag}`, v[flag]);
    return ms === undefined ? undefined : ms / 1000;
  };
  const nodeMonitorGrace = durationMs('--node-monitor-grace-period', v['node-monitor-grace-period']);
  const dataDir = resolve(v['data-dir'] ?? process.env.SKIFF_DATA_DIR ?? '.skiff');
  const localAgent = command === 'up' && !simulated && !v['no-agent'] ? agentOptions(values, join(dataDir, 'agent')) : undefined;
  const maskSize = v['node-cidr-mask-size'] === undefined ? undefined : parseCount('--node-cidr-mask-size', v['node-cidr-mask-size']);
  const controllerSettings: ControllerSettings = {
    nodeipam: { clusterCIDR: v['cluster-cidr'], nodeCIDRMaskSize: maskSize },
    ...(nodeMonitorGrace === undefined ? {} : { 'node-lifecycle': { nodeMonitorGracePeriodMs: nodeMonitorGrace, nodeMonitorPeriodMs: Math.min(5000, nodeMonitorGrace / 4) } }),
  };
  if ((v['audit-policy-file'] || v['audit-log-maxsize'] || v['audit-log-maxbackup']) && !v['audit-log-path']) {
    throw new UsageError('--audit-policy-file, --audit-log-maxsize and --audit-log-maxbackup need --audit-log-path');
  }
  const audit = v['audit-log-path']
    ? {
        logPath: v['audit-log-path'] === '-' ? '-' : resolve(v['audit-log-path']),
        policyFile: v['audit-policy-file'] === undefined ? undefined : resolve(v['audit-policy-file']),
        maxSizeMB: v['audit-log-maxsize'] === undefined ? undefined : parseCount('--audit-log-maxsize', v['audit-log-maxsize']),
        maxBackups: v['audit-log-maxbackup'] === undefined ? undefined : parseCount('--audit-log-maxbackup', v['audit-log-maxbackup']),
      }
    : undefined;
  const started = Date.now();
  const cp = await startControlPlane({
    dataDir,
    port,
    bindAddress: v['bind-address'],
    storage,
    etcdEndpoints: v['etcd-endpoints']?.split(',').map((s) => s.trim()).filter(Boolean),
    etcdPrefix: v['etcd-prefix'],
    hosts: v['tls-san'],
    serviceCidr: v['service-cluster-ip-range'],
    leaderElect,
    election: {
      leaseDurationSeconds: seconds('leader-elect-lease-duration'),
      renewDeadlineSeconds: seconds('leader-elect-renew-deadline'),
      retryPeriodSeconds: seconds('leader-elect-retry-period'),
    },
    controllers,
    controllerSettings,
    simulatedNodes: simulated,
    localAgent,
    encryptionProviderConfig: v['encryption-provider-config'] === undefined ? undefined : resolve(v['encryption-provider-config']),
    audit,
    overload: {
      requestTimeoutMs: durationMs('--request-timeout', v['request-timeout']),
      concurrencyLimit: parseCount('--max-requests-inflight', v['max-requests-inflight'] ?? '400') + parseCount('--max-mutating-requests-inflight', v['max-mutating-requests-inflight'] ?? '200') || undefined,
    },
  });
  console.log(`skiff ${command}: API server ready at ${cp.url} (${storage} store, ${Date.now() - started} ms)`);
  if (simulated) console.log(`skiff ${command}: ${simulatedNodes} simulated node(s) registered`);
  else if (localAgent) console.log(`skiff up: node ${localAgent.nodeName ?? defaultNodeName()} runs here (crun), state in ${localAgent.root}`);
  console.log(`skiff: to use it:\n  export KUBECONFIG=${cp.kubeconfigPath}\n  kubectl get namespaces`);
  onSignals(() => cp.stop());
}

async function agent(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      simulated: { type: 'boolean' },
      nodes: { type: 'string' },
      kubeconfig: { type: 'string' },
      server: { type: 'string' },
      token: { type: 'string' },
      'discovery-token-ca-cert-hash': { type: 'string', multiple: true },
      ...SIMULATED_NODE_FLAGS,
      ...AGENT_FLAGS,
    },
    strict: true,
  });
  if (values.token !== undefined) return joinedAgent(values);
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfig) throw new UsageError('skiff agent needs --kubeconfig FILE (or $KUBECONFIG)');
  const client = await HttpsClient.fromKubeconfig(resolve(kubeconfig), values.server);
  if (values.simulated) {
    const count = parseCount('--nodes', values.nodes ?? '1', 1);
    const sim = new SimulatedAgent(client, simulatedNodeOptions(count, values));
    await sim.start();
    console.log(`skiff agent: ${count} simulated node(s) running: ${sim.nodeNames().slice(0, 5).join(', ')}${count > 5 ? ', ...' : ''}`);
    onSignals(async () => {
      await sim.stop();
      client.close();
    });
    return;
  }
  if (values.nodes !== undefined) throw new UsageError('--nodes is for --simulated agents: a real agent runs this machine only');
  const opts = agentOptions(values, '/var/lib/skiff/agent');
  const clusterCA = await kubeconfigCA(resolve(kubeconfig));
  const local = await startLocalAgent(client, { ...opts, clusterCA });
  console.log(`skiff agent: node ${local.agent.node.name} ready (logs/exec on port ${local.port}), state in ${opts.root}`);
  onSignals(async () => {
    await local.stop();
    client.close();
  });
}

/** `skiff encryption rewrite`: every object of the encrypted resources, written back through the API. */
async function encryption(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'rewrite') throw new UsageError(`unknown encryption command ${JSON.stringify(sub ?? '')}: want skiff encryption rewrite`);
  const { values } = parseArgs({ args: rest, options: { kubeconfig: { type: 'string' }, resources: { type: 'string' } }, strict: true });
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfig) throw new UsageError('skiff encryption rewrite needs --kubeconfig FILE (or $KUBECONFIG)');
  const resources = (values.resources ?? 'secrets').split(',').map((s) => s.trim()).filter(Boolean);
  const client = await HttpsClient.fromKubeconfig(resolve(kubeconfig));
  try {
    await rewriteResources(client, resources, (line) => console.log(`skiff encryption rewrite: ${line}`));
  } finally {
    client.close();
  }
}

/** `skiff agent --token`: a node that joins with a bootstrap token (or restarts with what it joined with). */
async function joinedAgent(values: Record<string, any>): Promise<void> {
  const log = (m: string) => console.error(`agent: ${m}`);
  if (values.simulated) {
    if (values.nodes !== undefined && values.nodes !== '1') throw new UsageError('--token joins one node: --nodes must be 1');
    const simOpts = simulatedNodeOptions(1, values);
    const nodeName = `${simOpts.namePrefix ?? 'sim-'}${simOpts.startIndex ?? 0}`;
    const root = resolve((values['root-dir'] as string | undefined) ?? '/var/lib/skiff/agent');
    const node = await startNodeClient({ root, nodeName, server: values.server, token: values.token, caCertHashes: values['discovery-token-ca-cert-hash'], log });
    const sim = new SimulatedAgent(node.client, simOpts);
    await sim.start();
    console.log(`skiff agent: simulated node ${nodeName} ${node.joined ? 'joined' : 'running'} as system:node:${nodeName}`);
    onSignals(async () => {
      await sim.stop();
      node.stop();
    });
    return;
  }
  if (values.nodes !== undefined) throw new UsageError('--nodes is for --simulated agents: a real agent runs this machine only');
  const opts = agentOptions(values, '/var/lib/skiff/agent');
  const nodeName = opts.nodeName ?? defaultNodeName();
  const node = await startNodeClient({ root: opts.root, nodeName, server: values.server, token: values.token, caCertHashes: values['discovery-token-ca-cert-hash'], log });
  const local = await startLocalAgent(node.client, { ...opts, nodeName, clusterCA: node.clusterCA });
  console.log(`skiff agent: node ${local.agent.node.name} ${node.joined ? 'joined' : 'running'} (logs/exec on port ${local.port}), state in ${opts.root}`);
  onSignals(async () => {
    await local.stop();
    node.stop();
  });
}

/** The cluster CA from a kubeconfig: the agent lets in only clients it signed (the API server). */
async function kubeconfigCA(path: string): Promise<string> {
  const doc = parseYaml(await readFile(path, 'utf8')) as { clusters?: { cluster?: Record<string, string> }[] };
  const cluster = doc?.clusters?.[0]?.cluster ?? {};
  if (cluster['certificate-authority-data']) return Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  if (cluster['certificate-authority']) return readFile(resolve(dirname(path), cluster['certificate-authority']), 'utf8');
  throw new UsageError(`${path} names no certificate authority: the agent needs the cluster CA to know the API server`);
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`skiff: ${signal}: stopping`);
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`skiff: error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
    case 'server':
      return up(rest, cmd);
    case 'agent':
      return agent(rest);
    case 'kubeconfig':
      return kubeconfigCommand(rest);
    case 'encryption':
      return encryption(rest);
    case 'token':
      return tokenCommand(rest);
    case 'doctor':
      process.exitCode = await doctorCommand(rest);
      return;
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
  if (err instanceof JoinError) {
    console.error(`skiff: joining the cluster failed: ${err.message}`);
    process.exit(1);
  }
  if (err instanceof HostNotReadyError) {
    console.error(`skiff: ${err.message}\n(skiff doctor lists every check; skiff up --no-agent runs the control plane alone)`);
    process.exit(1);
  }
  console.error(`skiff: ${(err as Error).stack ?? err}`);
  process.exit(1);
});

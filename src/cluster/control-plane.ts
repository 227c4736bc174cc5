/**
 * A control plane in one process: store, API server, and the controllers that belong to the API
 * (system namespaces, namespace finalization). `skiff up` and the e2e tests both start it this way.
 */
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { openStore, type Store } from '../storage/index.js';
import { ApiServer } from '../apiserver/server.js';
import { ensurePki, type Pki } from '../pki/certs.js';
import { writeAdminKubeconfig } from '../cli/kubeconfig.js';
import { InProcessClient } from '../client/in-process.js';
import { ControllerManager, type Controller, type ControllerSettings } from '../controllers/manager.js';
import { LeaderElected, type ElectionTiming } from './leader-elected.js';
import { SimulatedAgent } from '../agent/simulated/agent.js';
import { startLocalAgent, type LocalAgentOptions } from '../agent/local.js';
import { defaultNodeName } from '../agent/local-node.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { SharedInformers } from '../client/shared-informers.js';
import { newControllerContext } from '../controllers/context.js';
import type { SimulatedAgentOptions } from '../agent/simulated/config.js';
import { bootstrapCluster } from '../controllers/bootstrap.js';
import { Compactor } from './compactor.js';
import { DEFAULT_SERVICE_CIDR, firstServiceIp, parseServiceCidr } from '../apiserver/admission/service-allocation.js';
import { ensureKubeletClientCert } from '../apiserver/kubelet-client.js';
import { ensureServiceAccountKey } from '../pki/service-account-key.js';
import { installServiceAccountTokens } from '../apiserver/auth/serviceaccount/index.js';
import { loadEncryptionConfiguration } from '../apiserver/encryption/config.js';
import { EncryptingStore } from '../apiserver/encryption/store.js';
import { startAudit, type AuditOptions } from '../apiserver/audit/index.js';
import { ensureClusterInfo } from '../controllers/cluster-info.js';
import type { OverloadOptions } from '../apiserver/overload.js';
import { RbacAuthorizer } from '../apiserver/authz/rbac/authorizer.js';
import { SIMULATED_NODES_USER } from '../apiserver/authz/rbac/bootstrap-policy.js';
import { NodeAuthorizer } from '../apiserver/authz/node/index.js';
import { UnionAuthorizer, type Authorizer } from '../apiserver/authz/types.js';
import type { UserInfo } from '../apiserver/auth/user.js';
import { ControllerClient, controllerIdentity, KUBE_CONTROLLER_MANAGER_USER, KUBE_SCHEDULER_USER, ROOT_CREDENTIAL_CONTROLLERS } from './identities.js';

export interface ControlPlaneOptions {
  dataDir: string;
  port: number;
  bindAddress?: string;
  storage: 'sqlite' | 'etcd';
  etcdEndpoints?: string[];
  etcdPrefix?: string;
  /** Extra names/addresses for the serving certificate. */
  hosts?: string[];
  /** Service cluster IP range (default 10.96.0.0/12). */
  serviceCidr?: string;
  /**
   * Run the controller manager and scheduler only while holding their Leases (default: on etcd,
   * where several servers may share the store; SQLite allows one server only).
   */
  leaderElect?: boolean;
  election?: ElectionTiming;
  /** Controllers to run (kube-controller-manager's --controllers; default all). */
  controllers?: string[];
  controllerSettings?: ControllerSettings;
  /** Simulated nodes to run in this process (scale tests and benchmarks; no processes run). */
  simulatedNodes?: SimulatedAgentOptions;
  /** A real node agent on this machine, in this process (`skiff up`). */
  localAgent?: Omit<LocalAgentOptions, 'clusterCA'>;
  /** An EncryptionConfiguration file: the resources it names are encrypted at rest (--encryption-provider-config). */
  encryptionProviderConfig?: string;
  /** The audit log (--audit-log-path and friends). */
  audit?: AuditOptions;
  /** Request timeout and in-flight limits (--request-timeout, --max-requests-inflight + --max-mutating-requests-inflight). */
  overload?: OverloadOptions;
}

export interface ControlPlane {
  server: ApiServer;
  store: Store;
  pki: Pki;
  port: number;
  url: string;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

/** The address pods and other machines reach the API server at. */
function advertiseAddress(bind: string | undefined): string {
  if (bind && bind !== '0.0.0.0' && bind !== '::') return bind;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  // Configuration errors surface before anything is opened.
  const transformers = opts.encryptionProviderConfig ? await loadEncryptionConfiguration(opts.encryptionProviderConfig) : undefined;
  const audit = opts.audit ? await startAudit(opts.audit) : undefined;
  const [pki, saKey, backend] = await Promise.all([
    ensurePki(opts.dataDir, { hosts: opts.hosts }),
    ensureServiceAccountKey(opts.dataDir),
    opts.storage === 'etcd'
      ? openStore({ kind: 'etcd', endpoints: opts.etcdEndpoints ?? ['http://127.0.0.1:2379'], prefix: opts.etcdPrefix })
      : openStore({ kind: 'sqlite', path: join(opts.dataDir, 'state.db') }),
  ]);
  const store = transformers ? new EncryptingStore(backend, transformers) : backend;
  const serviceCidr = opts.serviceCidr ?? DEFAULT_SERVICE_CIDR;
  const kubeletClient = await ensureKubeletClientCert(opts.dataDir, pki);
  const server = new ApiServer({ store, serviceCidr, tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert }, kubeletClient, audit, overload: opts.overload });
  installServiceAccountTokens(server, { privateKey: saKey.privateKey });
  await server.start();
  // Upstream's --authorization-mode=Node,RBAC: nodes first, then everyone's bindings.
  const rbac = new RbacAuthorizer(server.cache);
  const nodes = new NodeAuthorizer(server.cache);
  rbac.start();
  nodes.start();
  const authorizers: Authorizer[] = [nodes, rbac];
  server.authorizer = new UnionAuthorizer(authorizers);
  server.ruleResolver = rbac;
  const client = new InProcessClient(server);
  const port = await server.listen(opts.port, opts.bindAddress ?? '0.0.0.0');
  await bootstrapCluster(client, { address: advertiseAddress(opts.bindAddress), port, serviceIp: firstServiceIp(parseServiceCidr(serviceCidr)) });
  const advertised = advertiseAddress(opts.bindAddress);
  await ensureClusterInfo(client, { server: `https://${advertised.includes(':') ? `[${advertised}]` : advertised}:${port}`, caCert: pki.caCert });
  const url = `https://127.0.0.1:${port}`;
  const kubeconfigPath = join(opts.dataDir, 'kubeconfig');
  await writeAdminKubeconfig(kubeconfigPath, { server: url, pki });
  const components = await startComponents(server, client, opts, pki, saKey.privateKey);
  if (opts.simulatedNodes) {
    const agent = new SimulatedAgent(componentClient(server, 'kubelet', { name: SIMULATED_NODES_USER, groups: ['system:authenticated'] }), opts.simulatedNodes);
    await agent.start();
    components.push(agent);
  }
  if (opts.localAgent) {
    // The node agent acts as its node, as a kubelet's client certificate makes it upstream: the
    // Node authorizer and NodeRestriction confine it to its own Node and the pods bound to it.
    const nodeName = opts.localAgent.nodeName ?? defaultNodeName();
    const local = await startLocalAgent(nodeClient(server, nodeName), { ...opts.localAgent, nodeName, clusterCA: pki.caCert });
    // The agent goes first at stop (unshift), while the API it reports to is still up.
    components.unshift({ start: () => undefined, stop: () => local.stop() });
  }
  const compactor = new Compactor(store);
  compactor.start();
  return {
    server,
    store,
    pki,
    port,
    url,
    kubeconfigPath,
    async stop() {
      compactor.stop();
      await Promise.all(components.map((c) => c.stop()));
      await server.close();
      await audit?.backend.close();
      rbac.stop();
      nodes.stop();
      await store.close();
    },
  };
}

/**
 * The components that act on the cluster (controllers, scheduler): started at once when this is
 * the only server, or each under its Lease when servers share an etcd.
 */
async function startComponents(server: ApiServer, client: InProcessClient, opts: ControlPlaneOptions, pki: Pki, serviceAccountPrivateKey: string): Promise<Controller[]> {
  const builders: { lease: string; build: () => Controller }[] = [
    {
      lease: 'kube-controller-manager',
      build: () => {
        const manager = componentClient(server, 'kube-controller-manager', KUBE_CONTROLLER_MANAGER_USER);
        // Each controller under its own service account (--use-service-account-credentials).
        const clientFor = (name: string) =>
          ROOT_CREDENTIAL_CONTROLLERS.has(name) ? manager : new ControllerClient(manager, componentClient(server, 'kube-controller-manager', controllerIdentity(name)));
        return new ControllerManager(manager, { caCert: pki.caCert, serviceAccountPrivateKey, caKey: pki.caKey, controllers: opts.controllers, settings: opts.controllerSettings, clientFor });
      },
    },
    { lease: 'kube-scheduler', build: () => schedulerComponent(componentClient(server, 'kube-scheduler', KUBE_SCHEDULER_USER)) },
  ];
  if (opts.leaderElect ?? opts.storage === 'etcd') {
    return builders.map(({ lease, build }) => {
      const elected = new LeaderElected(client, lease, build, opts.election);
      elected.start();
      return elected;
    });
  }
  const started = builders.map(({ build }) => build());
  await Promise.all(started.map((c) => c.start()));
  return started;
}

/**
 * Each component writes under its own upstream name, the field manager its managedFields entries
 * show (`kube-controller-manager`, `kube-scheduler`, `kubelet`), as their user agents name them upstream.
 */
function componentClient(server: ApiServer, component: string, user?: UserInfo): InProcessClient {
  return new InProcessClient(server, { userAgent: `${component}/v1.32.0 (linux/amd64) skiff`, user });
}

function nodeClient(server: ApiServer, nodeName: string): InProcessClient {
  return new InProcessClient(server, {
    userAgent: 'kubelet/v1.32.0 (linux/amd64) skiff',
    user: { name: `system:node:${nodeName}`, groups: ['system:nodes', 'system:authenticated'] },
  });
}

/** The scheduler with informers of its own, as kube-scheduler is a process of its own upstream. */
function schedulerComponent(client: InProcessClient): Controller {
  const informers = new SharedInformers(client);
  const scheduler = new Scheduler(newControllerContext(client, informers));
  return {
    start: () => scheduler.start(),
    async stop() {
      await scheduler.stop();
      informers.stop();
    },
  };
}

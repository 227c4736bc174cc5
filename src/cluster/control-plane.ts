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
import { Scheduler } from '../scheduler/scheduler.js';
import { SharedInformers } from '../client/shared-informers.js';
import { newControllerContext } from '../controllers/context.js';
import type { SimulatedAgentOptions } from '../agent/simulated/config.js';
import { bootstrapCluster } from '../controllers/bootstrap.js';
import { Compactor } from './compactor.js';
import { DEFAULT_SERVICE_CIDR, firstServiceIp, parseServiceCidr } from '../apiserver/admission/service-allocation.js';
import { ensureKubeletClientCert } from '../apiserver/kubelet-client.js';
import { RbacAuthorizer } from '../apiserver/authz/rbac/authorizer.js';
import { UnionAuthorizer, type Authorizer } from '../apiserver/authz/types.js';
import type { UserInfo } from '../apiserver/auth/user.js';
import { ControllerClient, controllerIdentity, KUBE_CONTROLLER_MANAGER_USER, KUBE_SCHEDULER_USER } from './identities.js';

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
  const [pki, store] = await Promise.all([
    ensurePki(opts.dataDir, { hosts: opts.hosts }),
    opts.storage === 'etcd'
      ? openStore({ kind: 'etcd', endpoints: opts.etcdEndpoints ?? ['http://127.0.0.1:2379'], prefix: opts.etcdPrefix })
      : openStore({ kind: 'sqlite', path: join(opts.dataDir, 'state.db') }),
  ]);
  const serviceCidr = opts.serviceCidr ?? DEFAULT_SERVICE_CIDR;
  const kubeletClient = await ensureKubeletClientCert(opts.dataDir, pki);
  const server = new ApiServer({ store, serviceCidr, tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert }, kubeletClient });
  await server.start();
  // Authorization: RBAC over the watch cache (more authorizers, e.g. Node, go in front of it).
  const rbac = new RbacAuthorizer(server.cache);
  rbac.start();
  const authorizers: Authorizer[] = [rbac];
  server.authorizer = new UnionAuthorizer(authorizers);
  server.ruleResolver = rbac;
  const client = new InProcessClient(server);
  const port = await server.listen(opts.port, opts.bindAddress ?? '0.0.0.0');
  await bootstrapCluster(client, { address: advertiseAddress(opts.bindAddress), port, serviceIp: firstServiceIp(parseServiceCidr(serviceCidr)) });
  const url = `https://127.0.0.1:${port}`;
  const kubeconfigPath = join(opts.dataDir, 'kubeconfig');
  await writeAdminKubeconfig(kubeconfigPath, { server: url, pki });
  const components = await startComponents(server, client, opts, pki);
  if (opts.simulatedNodes) {
    const agent = new SimulatedAgent(componentClient(server, 'kubelet'), opts.simulatedNodes);
    await agent.start();
    components.push(agent);
  }
  if (opts.localAgent) {
    const local = await startLocalAgent(componentClient(server, 'kubelet'), { ...opts.localAgent, clusterCA: pki.caCert });
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
      rbac.stop();
      await store.close();
    },
  };
}

/**
 * The components that act on the cluster (controllers, scheduler): started at once when this is
 * the only server, or each under its Lease when servers share an etcd.
 */
async function startComponents(server: ApiServer, client: InProcessClient, opts: ControlPlaneOptions, pki: Pki): Promise<Controller[]> {
  const builders: { lease: string; build: () => Controller }[] = [
    {
      lease: 'kube-controller-manager',
      build: () => {
        const manager = componentClient(server, 'kube-controller-manager', KUBE_CONTROLLER_MANAGER_USER);
        // Each controller under its own service account (--use-service-account-credentials).
        const clientFor = (name: string) => new ControllerClient(manager, componentClient(server, 'kube-controller-manager', controllerIdentity(name)));
        return new ControllerManager(manager, { caCert: pki.caCert, controllers: opts.controllers, settings: opts.controllerSettings, clientFor });
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

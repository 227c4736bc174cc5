/**
 * A real node on this machine, assembled: host preparation, the image service, the CNI pod network
 * (built once node IPAM gives the node its podCIDR), the crun runtime under conmon, volumes and
 * container configuration over a watch-based ConfigMap/Secret source, the streaming server the API
 * server proxies exec/attach/port-forward/logs to, and the NodeAgent driving them. `skiff up` runs
 * one in-process; `skiff agent` runs one against a remote server.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import type { Client } from '../client/interface.js';
import { createCa, issueLeaf } from '../pki/issue.js';
import { NodeAgent } from './agent.js';
import { NetworkError, type PodNetwork, type PodNetworkRequest, type RegistryCredential } from './cri.js';
import { prepareHost } from './host/prepare.js';
import { LocalImageService } from './images/service.js';
import { CniNetwork } from './network/cni.js';
import { defaultNodeName } from './local-node.js';
import { hostResolvConf, podHostname, sandboxSpecFor } from './pod-dns.js';
import { buildContainerSpec } from './podconfig/container-spec.js';
import { SECRETS, WatchingConfigSource } from './podconfig/config-source.js';
import { resolveEnvironment } from './podconfig/env.js';
import type { ContainerSpecFactory, PodVolumes } from './pod-worker.js';
import { CrunRuntime } from './runtime/crun.js';
import { StreamingServer } from './streaming/server.js';
import type { ResolvedContainer, StreamingBackend, StreamingError } from './streaming/backend.js';
import { VolumeManager } from './volumes/manager.js';
import { clientTokenRequester, ServiceAccountTokenManager } from './volumes/token-manager.js';

export interface LocalAgentOptions {
  nodeName?: string;
  /** Agent state (images, runtime records, pod volumes, logs): default /var/lib/skiff/agent. */
  root: string;
  /** Volatile state (namespace mounts, crun state): default /run/skiff. */
  runDir?: string;
  /** The CA that signs the API server's client certificate (the agent lets only it in). */
  clusterCA: string;
  /** The streaming server's port (default 10250; 0 picks one). */
  port?: number;
  nodeIP?: string;
  /** Per-registry mirrors, e.g. { 'docker.io': ['http://127.0.0.1:5001'] }. */
  mirrors?: Record<string, string[]>;
  bridge?: string;
  cgroupRoot?: string;
  labels?: Record<string, string>;
  crashLoopBackOffMs?: { initial: number; max: number };
  log?: (message: string) => void;
}

export interface LocalAgent {
  agent: NodeAgent;
  port: number;
  stop(): Promise<void>;
}

/** The pod network, wired once the node has a podCIDR; until then a sandbox cannot get an address. */
class DeferredNetwork implements PodNetwork {
  private cni: CniNetwork | undefined;
  constructor(private readonly make: (podCIDR: string) => CniNetwork) {}
  ready(podCIDR: string): void {
    this.cni ??= this.make(podCIDR);
  }
  setUp(req: PodNetworkRequest) {
    if (!this.cni) return Promise.reject(new NetworkError('network plugin is not ready: no podCIDR assigned to this node yet'));
    return this.cni.setUp(req);
  }
  async tearDown(req: PodNetworkRequest) {
    await this.cni?.tearDown(req);
  }
}

export async function startLocalAgent(client: Client, opts: LocalAgentOptions): Promise<LocalAgent> {
  const log = opts.log ?? ((m: string) => console.error(`agent: ${m}`));
  const root = opts.root;
  const runDir = opts.runDir ?? '/run/skiff';
  const nodeName = opts.nodeName ?? defaultNodeName();
  await prepareHost({ log, directories: [root, runDir] });
  await mkdir(join(root, 'logs'), { recursive: true });

  const images = new LocalImageService({ root: join(root, 'images'), mirrors: opts.mirrors, log });
  const network = new DeferredNetwork((podCIDR) => new CniNetwork({ podCIDR, bridge: opts.bridge, dataDir: join(root, 'cni'), log }));
  const runtime = new CrunRuntime({ root: join(root, 'runtime'), runDir, network, images, cgroupRoot: opts.cgroupRoot, log });
  const source = new WatchingConfigSource(client, { log });
  const tokens = new ServiceAccountTokenManager({ request: clientTokenRequester(client), log });
  const volumeManager = new VolumeManager({ root: join(root, 'pods'), source, log, tokens });
  const hostResolv = hostResolvConf();
  // The agent is made after the pieces that call back into it.
  const ref: { agent?: NodeAgent } = {};
  const hostIP = () => ref.agent?.hostIP ?? '';

  const volumes: PodVolumes = {
    async setUp(pod, ctx) {
      source.registerPod(pod);
      await volumeManager.setUp(pod, { nodeName, hostIP: hostIP(), podIP: ctx.podIP });
    },
    async tearDown(pod) {
      await volumeManager.tearDown(String(pod.metadata?.uid ?? ''));
      source.unregisterPod(String(pod.metadata?.uid ?? ''));
    },
  };
  // A ConfigMap or Secret a pod's volumes use changed: rewrite them, as the kubelet's periodic sync does.
  source.onChange((_kind, _ns, _name, podUids) => {
    for (const uid of podUids) {
      const pod = ref.agent?.podByUid(uid);
      if (pod) void volumeManager.refresh(pod).catch((err) => log(`refreshing volumes of ${uid}: ${(err as Error).message}`));
    }
  });

  const specs: ContainerSpecFactory = {
    async build({ pod, container, sandbox, image, attempt, logPath }) {
      const uid = String(pod.metadata?.uid ?? '');
      const allocatable = ref.agent?.node.current()?.status?.allocatable as Record<string, string> | undefined;
      const env = await resolveEnvironment({
        pod,
        container,
        source,
        podIPs: sandbox.ip ? [sandbox.ip] : [],
        hostIPs: [hostIP()],
        nodeAllocatable: allocatable,
      });
      const vols = volumeManager.volumesOf(uid) ?? (await volumeManager.setUp(pod, { nodeName, hostIP: hostIP(), podIP: sandbox.ip }));
      const mounts = await volumeManager.mountsFor(pod, container, vols, env.vars);
      const rootfs = await images.rootfsOf(image);
      return buildContainerSpec({ pod, container, attempt, sandboxId: sandbox.id, image, rootfs, logPath, mounts, env: env.vars, hostname: podHostname(pod) });
    },
  };

  const credentials = async (pod: KubeObject): Promise<RegistryCredential[]> => {
    const out: RegistryCredential[] = [];
    for (const ref of (Array.isArray(pod.spec?.imagePullSecrets) ? pod.spec.imagePullSecrets : []) as { name?: string }[]) {
      if (!ref?.name) continue;
      // Upstream skips a pull secret it cannot read and pulls with the rest (anonymously at worst).
      const secret = await client.get(SECRETS, String(pod.metadata?.namespace ?? ''), ref.name).catch(() => undefined);
      out.push(...dockerCredentials(secret));
    }
    return out;
  };

  const agent = new NodeAgent(
    client,
    {
      runtime,
      images,
      volumes,
      specs,
      credentials,
      sandboxSpec: (pod) => sandboxSpecFor(pod, hostResolv),
      onPodCIDR: (cidr) => network.ready(cidr),
    },
    {
      nodeName,
      stateRoot: root,
      logRoot: join(root, 'logs'),
      port: 0, // set below, once the streaming server listens
      nodeIP: opts.nodeIP,
      labels: opts.labels,
      crashLoopBackOffMs: opts.crashLoopBackOffMs,
      log,
    },
  );

  ref.agent = agent;
  const serving = await agentServingCert(nodeName, agent.hostIP);
  const streaming = new StreamingServer({ backend: streamingBackend(agent, runtime), cert: serving.cert, key: serving.key, ca: opts.clusterCA, port: opts.port ?? 10250 });
  const port = await streaming.listen();
  agent.setPort(port);
  try {
    await agent.start();
  } catch (err) {
    await streaming.close();
    throw err;
  }
  return {
    agent,
    port,
    async stop() {
      await agent.stop();
      volumeManager.stop();
      source.stop();
      await streaming.close();
    },
  };
}

/** The `auths` of a kubernetes.io/dockerconfigjson (or legacy dockercfg) Secret. */
export function dockerCredentials(secret: KubeObject | undefined): RegistryCredential[] {
  const data = (secret?.data ?? {}) as Record<string, string>;
  const raw = data['.dockerconfigjson'] ?? data['.dockercfg'];
  if (!raw) return [];
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Record<string, any>;
    const auths = (data['.dockerconfigjson'] ? parsed.auths : parsed) as Record<string, Record<string, string>> | undefined;
    return Object.entries(auths ?? {}).map(([registry, a]) => ({ registry, ...pick(a) }));
  } catch {
    return [];
  }
}

function pick(a: Record<string, string> | undefined): Omit<RegistryCredential, 'registry'> {
  const s = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return { username: s(a?.username), password: s(a?.password), auth: s(a?.auth), identitytoken: s(a?.identitytoken), registrytoken: s(a?.registrytoken) };
}

/** A self-signed serving certificate: the API server does not verify kubelets' serving certificates by default either. */
async function agentServingCert(nodeName: string, ip: string) {
  const ca = await createCa(`${nodeName}-ca@skiff-agent`);
  return issueLeaf(ca, { commonName: nodeName, usage: 'server', dnsNames: [nodeName, 'localhost'], ipAddresses: [ip, '127.0.0.1'].filter(Boolean), validityDays: 365 });
}

function streamingBackend(agent: NodeAgent, runtime: CrunRuntime): StreamingBackend {
  const notFound = (message: string): StreamingError => ({ code: 404, message });
  const podOf = (ns: string, name: string) => {
    const w = agent.worker(ns, name);
    const pod = w ? agent.podByUid(w.uid) : undefined;
    return { w, pod };
  };
  return {
    resolvePod(ns, name) {
      const { w, pod } = podOf(ns, name);
      if (!w || !pod) return notFound(`pod "${name}" in namespace "${ns}" is not running on this node`);
      return { podUid: w.uid, podIP: String(pod.status?.podIP ?? ''), hostNetwork: pod.spec?.hostNetwork === true };
    },
    resolveContainer(ns, name, container): ResolvedContainer | StreamingError {
      const { w, pod } = podOf(ns, name);
      if (!w || !pod) return notFound(`pod "${name}" in namespace "${ns}" is not running on this node`);
      const c = w.containerFor(container);
      if (!c?.current) return { code: 400, message: `container "${container}" in pod "${name}" is waiting to start: ContainerCreating` };
      const current = runtime.containerStatus(c.current);
      const previous = c.previous ? runtime.containerStatus(c.previous) : undefined;
      if (!current) return notFound(`container "${container}" in pod "${name}" not found`);
      return {
        podUid: w.uid,
        podIP: String(pod.status?.podIP ?? ''),
        hostNetwork: pod.spec?.hostNetwork === true,
        containerId: current.id,
        containerName: container,
        logPath: current.logPath,
        previousLogPath: previous?.logPath,
        waitForExit: () => runtime.waitForExit(current.id),
      };
    },
    runtime,
  };
}

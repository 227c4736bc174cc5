/**
 * The contracts inside a real node agent, shaped after the CRI (the kubelet's runtime and image
 * services) so that each piece is a room a Kubernetes engineer knows:
 *
 *   pod worker ──► ImageService      (images/: pull, layer store, root filesystems)
 *              ──► ContainerRuntime  (runtime/: sandboxes, crun containers under conmon, exec)
 *                    └► PodNetwork   (network/: CNI plugins in the pod's network namespace)
 *              ──► volumes/, env     (what a container sees: mounts and environment)
 *   streaming server (exec, attach, port-forward, logs) ──► ContainerRuntime, log files
 *
 * The pod worker decides what should run and in which order; everything below it does one thing and
 * reports what it found. Everything here is plain data so that an agent restart can rebuild its view
 * from the runtime's own records (bundles, exit files) and adopt what is still running.
 */
import type { Readable, Writable } from 'node:stream';

// ---------------------------------------------------------------------------------------------
// Images

/** The parts of an OCI image config a container needs. */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  /** "KEY=value" entries, in image order. */
  env?: string[];
  workingDir?: string;
  /** "uid", "uid:gid", "name" or "name:group", as the image says. */
  user?: string;
}

export interface PulledImage {
  /** The normalized reference asked for: "docker.io/library/busybox:latest", "127.0.0.1:5000/x@sha256:…". */
  reference: string;
  /** What container statuses report as imageID: "<repository>@sha256:<manifest digest>". */
  imageRef: string;
  /** The image's ID: its config digest ("sha256:…"). */
  id: string;
  config: ImageConfig;
  /** Compressed size of its layers, as node.status.images reports. */
  sizeBytes: number;
  /** Every reference that resolved to this image (tags and digests), for node.status.images names. */
  names: string[];
}

/** One `auths` entry of a kubernetes.io/dockerconfigjson (or dockercfg) Secret, keyed by registry. */
export interface RegistryCredential {
  /** As written in the secret: "127.0.0.1:5000", "https://index.docker.io/v1/", "registry.example/path". */
  registry: string;
  username?: string;
  password?: string;
  /** base64("user:password"), as docker writes it. */
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** Why an image could not be made present; `reason` is what the container status says while waiting. */
export class ImageError extends Error {
  constructor(
    /** ErrImagePull, ErrImageNeverPull, InvalidImageName. */
    readonly reason: 'ErrImagePull' | 'ErrImageNeverPull' | 'InvalidImageName',
    message: string,
  ) {
    super(message);
  }
}

export interface EnsureImageResult {
  image: PulledImage;
  /** False when the image was present and the policy did not ask for a pull. */
  pulled: boolean;
  /** How long this caller waited for the pull (a shared pull counts for every waiter). */
  pullMs?: number;
}

export interface ImageService {
  /**
   * Makes `image` present as `policy` asks. Concurrent calls for one image share one pull; layers
   * already in the store are not downloaded again. `onPulling` is called once, before a pull starts.
   * Throws ImageError.
   */
  ensureImage(image: string, policy: PullPolicy, opts?: { credentials?: RegistryCredential[]; onPulling?: () => void }): Promise<EnsureImageResult>;
  /** The image for a reference, if present (no network). */
  get(image: string): PulledImage | undefined;
  /** Every image present, for node.status.images. */
  list(): PulledImage[];
  /**
   * A writable root filesystem for one container at `<containerDir>/rootfs` (overlayfs over the
   * image's unpacked layers where the kernel allows it, a copy otherwise). Idempotent.
   */
  mountRootfs(image: PulledImage, containerDir: string): Promise<string>;
  unmountRootfs(containerDir: string): Promise<void>;
  /** Removes images (and layers no image uses) not in `inUse` (image IDs). */
  garbageCollect(inUse: Set<string>): Promise<{ removedImages: number; freedBytes: number }>;
}

// ---------------------------------------------------------------------------------------------
// Pod network

export interface PortMapping {
  containerPort: number;
  hostPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  hostIP?: string;
}

export interface PodNetworkRequest {
  podUid: string;
  namespace: string;
  name: string;
  /** Path of the pod's network namespace (a bind-mounted nsfs file). */
  netnsPath: string;
  /** The sandbox's ID, as CNI_CONTAINERID. */
  sandboxId: string;
  portMappings: PortMapping[];
}

/** CNI failed; the message is the plugin's own ("no IP addresses available in range set: …"). */
export class NetworkError extends Error {
  constructor(
    message: string,
    /** True when the node's pod CIDR has no address left. */
    readonly exhausted = false,
  ) {
    super(message);
  }
}

export interface PodNetwork {
  /** Wires eth0 (and lo) into the namespace; resolves with the pod's IP. Throws NetworkError. */
  setUp(req: PodNetworkRequest): Promise<{ ip: string; gateway?: string }>;
  /** Releases the address and host ports; idempotent, and safe when setUp never ran. */
  tearDown(req: PodNetworkRequest): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Sandboxes and containers

export interface SandboxSpec {
  podUid: string;
  namespace: string;
  name: string;
  hostname: string;
  hostNetwork: boolean;
  hostIPC: boolean;
  hostPID: boolean;
  shareProcessNamespace: boolean;
  portMappings: PortMapping[];
  /** Contents of the pod's /etc/resolv.conf and /etc/hosts (the pod worker computes them). */
  resolvConf: string;
  hosts: string;
  /** Pod-level cgroup limits (sum of containers'), when set. */
  cgroupParent?: string;
}

export interface SandboxInfo {
  id: string;
  podUid: string;
  namespace: string;
  name: string;
  /** The pod IP (the host's for hostNetwork pods). */
  ip: string;
  netnsPath?: string;
  /** Files the containers bind-mount as /etc/resolv.conf, /etc/hosts, /etc/hostname. */
  resolvConfPath: string;
  hostsPath: string;
  hostnamePath: string;
  createdAt: number;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readOnly: boolean;
  /** A tmpfs of this size instead of a bind mount (emptyDir medium Memory); hostPath is ignored. */
  tmpfsSizeBytes?: number;
}

export interface ContainerResources {
  /** cpu.shares (cgroup v1 scale: 2..262144), from requests.cpu as upstream's MilliCPUToShares. */
  cpuShares?: number;
  /** CFS quota and period in microseconds, from limits.cpu. */
  cpuQuotaUs?: number;
  cpuPeriodUs?: number;
  memoryLimitBytes?: number;
  pidsLimit?: number;
}

export interface ContainerSpec {
  sandboxId: string;
  podUid: string;
  namespace: string;
  podName: string;
  containerName: string;
  /** Which run of this container this is (restartCount at creation). */
  attempt: number;
  image: PulledImage;
  /** The full argv (entrypoint/cmd already merged with command/args by the pod worker). */
  args: string[];
  /** "KEY=value", image env first, then the pod's (later wins). */
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  tty: boolean;
  stdin: boolean;
  stdinOnce: boolean;
  privileged: boolean;
  readOnlyRootFilesystem: boolean;
  capabilities: { add: string[]; drop: string[] };
  mounts: Mount[];
  resources: ContainerResources;
  /** Where the runtime writes this container's log, in CRI format. */
  logPath: string;
}

export type ContainerPhase = 'created' | 'running' | 'exited';

export interface ContainerStatus {
  id: string;
  sandboxId: string;
  podUid: string;
  namespace: string;
  podName: string;
  containerName: string;
  attempt: number;
  imageRef: string;
  phase: ContainerPhase;
  pid?: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  /** The kernel killed it for its memory limit. */
  oomKilled: boolean;
  logPath: string;
}

/** A process started by exec or attach: the caller wires the streams and waits for `exited`. */
export interface ProcessIO {
  stdin?: Writable;
  stdout?: Readable;
  /** Absent with a tty (the terminal merges it into stdout). */
  stderr?: Readable;
  resize(cols: number, rows: number): void;
  /** Resolves with the exit code (attach: when the stream ends). */
  exited: Promise<number>;
  kill(): void;
}

export interface ContainerRuntime {
  /** containerRuntimeVersion as the node reports it: "crun://1.8.1". */
  readonly version: string;
  /** Creates the pod's namespaces, its network (through PodNetwork) and its cgroup. Throws NetworkError. */
  runPodSandbox(spec: SandboxSpec): Promise<SandboxInfo>;
  /** Stops every container of the sandbox and releases its network; idempotent. */
  stopPodSandbox(id: string): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
  listSandboxes(): SandboxInfo[];

  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceSeconds`; resolves once it has exited. Idempotent. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  /** Removes an exited container (its bundle, not its log). */
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): ContainerStatus | undefined;
  listContainers(): ContainerStatus[];
  /** Called once for every container that exits, with its final status. */
  onExit(listener: (status: ContainerStatus) => void): void;

  /** Runs a command in a running container (probes, hooks): output is capped, the process killed at the timeout. */
  execSync(id: string, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string; timedOut: boolean }>;
  /** Runs a command in a running container with streams (kubectl exec). */
  exec(id: string, cmd: string[], opts: { tty: boolean; stdin: boolean; cols?: number; rows?: number }): ProcessIO;
  /** Attaches to the container's main process (kubectl attach). */
  attach(id: string, opts: { stdin: boolean; tty: boolean }): ProcessIO;
  /** Asks the log writer to reopen its file (after the agent rotated it). */
  reopenLog(id: string): Promise<void>;

  /** Loads what a previous agent left (sandboxes, containers, exit records) so it can be adopted. */
  restore(): Promise<void>;
  shutdown(): Promise<void>;
}

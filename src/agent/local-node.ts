/**
 * What this machine's Node looks like, read off the machine as the kubelet's cadvisor-backed
 * status setters do: capacity (cpu, memory, ephemeral storage of the agent's root, 110 pods),
 * allocatable (capacity less upstream's default hard eviction thresholds: memory.available 100Mi,
 * nodefs.available 10%), addresses, node info, the pressure conditions from live readings, and
 * Ready only once the pod network can be wired (the node has a podCIDR) — upstream's
 * "container runtime network not ready" until then.
 *
 * Pod address exhaustion shows on the node too: a `PodCIDRExhausted` condition (not one of
 * upstream's; node problem detectors add conditions the same way) while pods wait for an address.
 */
import { readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, hostname, networkInterfaces, release } from 'node:os';
import type { KubeObject } from '../api/types.js';
import type { Client } from '../client/interface.js';
import { kubeletConditions, NodeRegistration, type NodeCondition, type NodeTimings } from './node-registration.js';
import type { ImageService } from './cri.js';

export const KUBELET_VERSION = 'v1.32.0-skiff.1';
const MAX_NODE_IMAGES = 50;
const EVICTION_MEMORY_BYTES = 100 * 1024 * 1024;

export interface LocalNodeOptions {
  name: string;
  client: Client;
  timings: NodeTimings;
  runtimeVersion: string;
  /** Where the agent keeps its state (ephemeral storage is this filesystem's). */
  root: string;
  /** The streaming server's port (kubeletEndpoint). */
  port: number;
  images: ImageService;
  /** An address to report instead of the host's first non-loopback IPv4. */
  nodeIP?: string;
  labels?: Record<string, string>;
}

export class LocalNode extends NodeRegistration {
  readonly hostIP: string;
  private exhausted = false;
  private port: number;

  constructor(private readonly opts: LocalNodeOptions) {
    super(opts.name, opts.client, opts.timings);
    this.hostIP = opts.nodeIP ?? primaryIPv4() ?? '127.0.0.1';
    this.port = opts.port;
  }

  /** The node's podCIDR once node IPAM has given it one. */
  podCIDR(): string | undefined {
    const c = this.current()?.spec?.podCIDR;
    return typeof c === 'string' && c ? c : undefined;
  }

  setPort(port: number): void {
    this.port = port;
  }

  setAddressExhausted(exhausted: boolean): void {
    this.exhausted = exhausted;
  }

  protected labels(): Record<string, string> {
    const a = goArch();
    return {
      ...this.opts.labels,
      'beta.kubernetes.io/arch': a,
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': a,
      'kubernetes.io/hostname': this.name,
      'kubernetes.io/os': 'linux',
    };
  }

  protected registrationSpec(): Record<string, unknown> {
    return {};
  }

  protected desiredStatus(current: KubeObject | undefined, heartbeat: number): Record<string, unknown> {
    const m = readMemory();
    const disk = readDisk(this.opts.root);
    const cpu = String(cpus().length);
    const capacity = {
      cpu,
      'ephemeral-storage': `${Math.floor(disk.total / 1024)}Ki`,
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: `${Math.floor(m.total / 1024)}Ki`,
      pods: '110',
    };
    const allocatable = {
      ...capacity,
      'ephemeral-storage': String(Math.floor(disk.total * 0.9)),
      memory: `${Math.floor(Math.max(0, m.total - EVICTION_MEMORY_BYTES) / 1024)}Ki`,
    };
    const conditions: NodeCondition[] = [
      m.available < EVICTION_MEMORY_BYTES
        ? { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', message: 'kubelet has insufficient memory available' }
        : { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
      disk.available < disk.total * 0.1
        ? { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure', message: 'kubelet has disk pressure' }
        : { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
      pidPressure()
        ? { type: 'PIDPressure', status: 'True', reason: 'KubeletHasInsufficientPID', message: 'kubelet has insufficient PID available' }
        : { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
      this.podCIDR()
        ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
        : {
            type: 'Ready',
            status: 'False',
            reason: 'KubeletNotReady',
            message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: no podCIDR assigned to this node yet',
          },
    ];
    const all = kubeletConditions(current, conditions, heartbeat);
    // Our own condition, kept as the kubelet keeps its own (transition time while the status holds).
    const others = all.filter((c) => c.type !== 'PodCIDRExhausted');
    const prior = (current?.status?.conditions as Record<string, any>[] | undefined)?.find((c) => c?.type === 'PodCIDRExhausted');
    const status = this.exhausted ? 'True' : 'False';
    const hb = (others.find((c) => c.type === 'Ready')?.lastHeartbeatTime as string) ?? new Date(heartbeat).toISOString();
    others.push({
      type: 'PodCIDRExhausted',
      status,
      lastHeartbeatTime: hb,
      lastTransitionTime: prior?.status === status && prior.lastTransitionTime ? prior.lastTransitionTime : hb,
      reason: this.exhausted ? 'NoIPAddressesAvailable' : 'PodCIDRHasFreeAddresses',
      message: this.exhausted ? `no IP addresses available in the node's pod CIDR ${this.podCIDR() ?? ''}: new pods wait for an address` : 'the pod CIDR has free addresses',
    });
    const images = this.opts.images
      .list()
      .sort((a, b) => b.sizeBytes - a.sizeBytes)
      .slice(0, MAX_NODE_IMAGES)
      .map((i) => ({ names: [...new Set([i.imageRef, ...i.names])], sizeBytes: i.sizeBytes }));
    return {
      capacity,
      allocatable,
      conditions: others,
      addresses: [
        { type: 'InternalIP', address: this.hostIP },
        { type: 'Hostname', address: this.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.port } },
      nodeInfo: {
        machineID: readText('/etc/machine-id'),
        systemUUID: readText('/sys/class/dmi/id/product_uuid') || readText('/etc/machine-id'),
        bootID: readText('/proc/sys/kernel/random/boot_id'),
        kernelVersion: release(),
        osImage: osImage(),
        containerRuntimeVersion: this.opts.runtimeVersion,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: goArch(),
      },
      images,
    };
  }
}

/** The default node name: the host name, lower-cased, as the kubelet's. */
export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readText('/etc/os-release'));
  return m?.[1] ?? 'Linux';
}

function readMemory(): { total: number; available: number } {
  const text = readText('/proc/meminfo');
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { total: kb('MemTotal'), available: kb('MemAvailable') };
}

function readDisk(path: string): { total: number; available: number } {
  try {
    const s = statfsSync(path);
    return { total: s.blocks * s.bsize, available: s.bavail * s.bsize };
  } catch {
    return { total: 0, available: 0 };
  }
}

function pidPressure(): boolean {
  const max = Number(readText('/proc/sys/kernel/pid_max'));
  const [, , , runnable] = readText('/proc/loadavg').split(' ');
  const total = Number(runnable?.split('/')[1]);
  return Number.isFinite(max) && Number.isFinite(total) && max > 0 && total > max * 0.9;
}

/** The host's first non-internal IPv4 address, skipping pod bridges and veths. */
export function primaryIPv4(): string | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (/^(veth|skiff|cni|docker|skt-)/.test(name)) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

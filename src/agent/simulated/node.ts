/**
 * What one simulated node looks like: labels from its index (zone, instance type), the agent's
 * node shape, stable made-up machine identities. Registration, lease and heartbeats are the
 * kubelet's (node-registration.ts).
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../../api/types.js';
import type { Client } from '../../client/interface.js';
import { HEALTHY_CONDITIONS, kubeletConditions, NodeRegistration } from '../node-registration.js';
import { KUBELET_PORT, KUBELET_VERSION, LABEL_SIMULATED, OS_IMAGE, type SimulatedAgentConfig } from './config.js';

export interface SimulatedNodeOptions {
  name: string;
  /** The node's index n (its name is `<prefix><n>`): zone, addresses and podCIDR follow from it. */
  index: number;
  podCIDR: string;
  hostIP: string;
  runtimeVersion: string;
  cfg: SimulatedAgentConfig;
  /** Writes go through a bounded client shared by all nodes. */
  client: Client;
}

export class SimulatedNode extends NodeRegistration {
  readonly hostIP: string;
  readonly podCIDR: string;
  private readonly sim: SimulatedAgentConfig;

  constructor(private readonly opts: SimulatedNodeOptions) {
    super(opts.name, opts.client, opts.cfg);
    this.hostIP = opts.hostIP;
    this.podCIDR = opts.podCIDR;
    this.sim = opts.cfg;
  }

  protected registrationSpec(): Record<string, unknown> {
    return { podCIDR: this.podCIDR, podCIDRs: [this.podCIDR] };
  }

  protected labels(): Record<string, string> {
    const cfg = this.sim;
    const labels: Record<string, string> = {
      ...cfg.labels,
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': this.name,
      'kubernetes.io/os': 'linux',
      [LABEL_SIMULATED]: 'true',
    };
    if (cfg.instanceType) {
      labels['beta.kubernetes.io/instance-type'] = cfg.instanceType;
      labels['node.kubernetes.io/instance-type'] = cfg.instanceType;
    }
    if (cfg.zones.length > 0) {
      const zone = cfg.zones[this.opts.index % cfg.zones.length];
      labels['failure-domain.beta.kubernetes.io/zone'] = zone;
      labels['topology.kubernetes.io/zone'] = zone;
    }
    return labels;
  }

  /**
   * The status the node should report. Conditions keep their lastTransitionTime while their status
   * holds and get `heartbeat` as lastHeartbeatTime; conditions the kubelet does not own stay as found.
   */
  protected desiredStatus(current: KubeObject | undefined, heartbeat: number): Record<string, unknown> {
    const cfg = this.sim;
    const capacity = {
      cpu: cfg.cpu,
      'ephemeral-storage': cfg.ephemeralStorage,
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: cfg.memory,
      pods: String(cfg.pods),
    };
    const conditions = kubeletConditions(current, HEALTHY_CONDITIONS, heartbeat);
    return {
      capacity,
      allocatable: { ...capacity },
      conditions,
      addresses: [
        { type: 'InternalIP', address: this.hostIP },
        { type: 'Hostname', address: this.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
      nodeInfo: {
        machineID: stableHex(`machine/${this.name}`, 32),
        systemUUID: stableUuid(`system/${this.name}`),
        // A simulated node never reboots, so its boot ID stays too (an agent restart is not a reboot).
        bootID: stableUuid(`boot/${this.name}`),
        kernelVersion: 'simulated',
        osImage: OS_IMAGE,
        containerRuntimeVersion: this.opts.runtimeVersion,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  }
}

function stableHex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

function stableUuid(seed: string): string {
  const h = stableHex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

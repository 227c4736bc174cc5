/**
 * The node IPAM controller, after upstream's nodeipam range allocator (kube-controller-manager with
 * `--allocate-node-cidrs --cluster-cidr --node-cidr-mask-size`): the cluster CIDR is cut into
 * subnets of the mask size, and every node without `spec.podCIDR` gets the lowest free one. The
 * node agent waits for it before it can wire pod networks (the CNI bridge's host-local range).
 *
 * Subnets are taken by whatever nodes hold (ones set at registration, like simulated nodes', count
 * too) and freed when the node goes. When none is left the node gets a CIDRNotAvailable event, as
 * upstream, and is retried as nodes leave.
 */
import type { KubeObject } from '../api/types.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../client/events.js';
import { formatCidr, parseCidr, type Cidr } from '../api/ipv4.js';
import type { ControllerContext } from './context.js';
import { InformerController, type ControllerOptions } from './informer-controller.js';
import { NODES } from './pods.js';

export interface NodeIpamControllerOptions extends ControllerOptions {
  /** The range pod CIDRs are cut from (default 10.244.0.0/16, as kubeadm's flannel default). */
  clusterCIDR?: string;
  /** The prefix length of each node's pod CIDR (default 24, as upstream for IPv4). */
  nodeCIDRMaskSize?: number;
}

export class NodeIpamController extends InformerController {
  private readonly nodes: Informer;
  private readonly recorder: EventRecorder;
  private readonly cluster: Cidr;
  private readonly maskSize: number;
  /** Subnet index taken, by node name. */
  private readonly taken = new Map<string, number>();
  private readonly used = new Set<number>();
  /** Nodes waiting for a subnet to be freed. */
  private readonly starved = new Set<string>();

  constructor(
    private readonly ctx: ControllerContext,
    opts: NodeIpamControllerOptions = {},
  ) {
    super('node ipam controller', { log: ctx.log, ...opts });
    const clusterCIDR = opts.clusterCIDR ?? '10.244.0.0/16';
    const cluster = parseCidr(clusterCIDR);
    if (!cluster) throw new Error(`node ipam: --cluster-cidr ${JSON.stringify(clusterCIDR)} is not an IPv4 CIDR`);
    this.maskSize = opts.nodeCIDRMaskSize ?? 24;
    if (!Number.isInteger(this.maskSize) || this.maskSize < cluster.bits || this.maskSize > 30) {
      throw new Error(`node ipam: --node-cidr-mask-size ${this.maskSize} must be between the cluster CIDR's prefix (${cluster.bits}) and 30`);
    }
    this.cluster = cluster;
    this.recorder = ctx.recorder('cidrAllocator');
    this.nodes = ctx.informers.informer(NODES);
    this.share(this.nodes);
    this.nodes
      .onAdd((n) => this.observe(n))
      .onUpdate((_o, n) => this.observe(n))
      .onDelete((n) => this.forget(n));
  }

  private get subnetSize(): number {
    return 2 ** (32 - this.maskSize);
  }

  /** The subnet index of a node's podCIDR, when it is one of ours. */
  private indexOf(cidr: unknown): number | undefined {
    if (typeof cidr !== 'string') return undefined;
    const c = parseCidr(cidr);
    if (!c || c.bits !== this.maskSize) return undefined;
    const offset = c.network - this.cluster.network;
    if (offset < 0 || offset >= this.cluster.size) return undefined;
    return offset / this.subnetSize;
  }

  private observe(node: KubeObject): void {
    const name = node.metadata?.name ?? '';
    const index = this.indexOf(node.spec?.podCIDR);
    const before = this.taken.get(name);
    if (before !== undefined && before !== index) this.release(name);
    if (index !== undefined) {
      this.taken.set(name, index);
      this.used.add(index);
    } else if (!node.spec?.podCIDR) this.queue.add(name);
  }

  private forget(node: KubeObject): void {
    const name = node.metadata?.name ?? '';
    this.starved.delete(name);
    this.release(name);
  }

  private release(name: string): void {
    const index = this.taken.get(name);
    if (index === undefined) return;
    this.taken.delete(name);
    // Another node may hold the same subnet (set by hand): keep it used while anyone does.
    if (![...this.taken.values()].includes(index)) this.used.delete(index);
    for (const n of this.starved) this.queue.add(n);
    this.starved.clear();
  }

  override async reconcile(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node || node.spec?.podCIDR) return;
    const count = this.cluster.size / this.subnetSize;
    let index = -1;
    for (let i = 0; i < count; i++) {
      if (!this.used.has(i)) {
        index = i;
        break;
      }
    }
    if (index < 0) {
      this.starved.add(name);
      this.recorder.event(node, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
      return;
    }
    const cidr = formatCidr(this.cluster.network + index * this.subnetSize, this.maskSize);
    // Taken before the write so a second node reconciled meanwhile does not get it too.
    this.used.add(index);
    this.taken.set(name, index);
    try {
      await this.ctx.client.patch(NODES, '', name, 'application/merge-patch+json', { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
    } catch (err) {
      this.release(name);
      throw err;
    }
  }
}

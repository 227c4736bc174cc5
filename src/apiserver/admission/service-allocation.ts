/**
 * Service cluster IPs and node ports, allocated when a Service is written, as upstream's service
 * REST storage does. Each allocated value is a key in the store (/registry/ranges/...), created
 * with the store's create-if-absent, so two API servers on one etcd can never hand out the same
 * IP or port.
 */
import type { KubeObject, ResourceEntry } from '../../api/types.js';
import { isStoreError, type Store } from '../../storage/store.js';
import { errors, type StatusCause } from '../../api/errors.js';
import { resourcePrefixOf, type WatchCache } from '../watch-cache.js';
import type { AdmissionOutcome, AdmissionPlugin } from './types.js';
import { ipToNumber, numberToIp, parseCidr } from '../../api/ipv4.js';

const IP_PREFIX = '/registry/ranges/serviceips/';
const PORT_PREFIX = '/registry/ranges/servicenodeports/';
const MAX_TRIES = 64;

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const DEFAULT_NODE_PORT_RANGE: [number, number] = [30000, 32767];

export interface ServiceRange {
  base: number;
  size: number;
  cidr: string;
}

/** The Service range of `cidr` (IPv4 only, /8 to /30); throws for anything else. */
export function parseServiceCidr(cidr: string): ServiceRange {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`invalid service CIDR ${cidr}: only IPv4 ranges are supported`);
  if (c.bits < 8 || c.bits > 30) throw new Error(`invalid service CIDR ${cidr}`);
  return { base: c.network, size: c.size, cidr };
}

/** The first usable address of the range (the `kubernetes` Service's ClusterIP). */
export function firstServiceIp(range: ServiceRange): string {
  return numberToIp(range.base + 1);
}

function isServices(e: ResourceEntry): boolean {
  return e.group === '' && e.plural === 'services';
}

function wantsClusterIp(svc: KubeObject): boolean {
  return (svc.spec?.type ?? 'ClusterIP') !== 'ExternalName' && svc.spec?.clusterIP !== 'None';
}

function wantsNodePorts(svc: KubeObject): boolean {
  const t = svc.spec?.type;
  return t === 'NodePort' || t === 'LoadBalancer';
}

export class ServiceAllocation implements AdmissionPlugin {
  readonly name = 'ServiceAllocation';
  private readonly range: ServiceRange;

  constructor(
    private readonly store: Store,
    private readonly cache: WatchCache,
    cidr = DEFAULT_SERVICE_CIDR,
    private readonly nodePorts: [number, number] = DEFAULT_NODE_PORT_RANGE,
  ) {
    this.range = parseServiceCidr(cidr);
  }

  async admit(a: { operation: string; entry: ResourceEntry; obj: KubeObject; old?: KubeObject; dryRun: boolean }): Promise<AdmissionOutcome | void> {
    if (!isServices(a.entry)) return;
    const svc = a.obj;
    svc.spec ??= {};
    const reserved: string[] = [];
    const toRelease: string[] = [];
    const owner = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    try {
      // Cluster IP: kept from the old object, taken as asked, or picked from the range.
      const oldIp = a.old && wantsClusterIp(a.old) ? a.old.spec?.clusterIP : undefined;
      if (wantsClusterIp(svc)) {
        const asked = svc.spec.clusterIP;
        if (oldIp && (!asked || asked === oldIp)) {
          svc.spec.clusterIP = oldIp;
        } else if (asked) {
          const n = ipToNumber(asked);
          if (n === undefined || n <= this.range.base || n >= this.range.base + this.range.size - 1) {
            throw this.invalid(svc, 'spec.clusterIPs', asked, `failed to allocate IP ${asked}: the provided IP (${asked}) is not in the valid range. The range of valid IPs is ${this.range.cidr}`);
          }
          if (!(await this.reserve(IP_PREFIX + asked, owner, a.dryRun))) {
            throw this.invalid(svc, 'spec.clusterIPs', asked, `failed to allocate IP ${asked}: provided IP is already allocated`);
          }
          reserved.push(IP_PREFIX + asked);
        } else {
          const ip = await this.allocateIp(owner, a.dryRun);
          reserved.push(IP_PREFIX + ip);
          svc.spec.clusterIP = ip;
        }
        svc.spec.clusterIPs = [svc.spec.clusterIP];
        if (oldIp && svc.spec.clusterIP !== oldIp) toRelease.push(IP_PREFIX + oldIp);
      } else if (svc.spec.clusterIP === 'None') {
        svc.spec.clusterIPs = ['None'];
      } else if (oldIp) {
        toRelease.push(IP_PREFIX + oldIp);
      }

      // Node ports for NodePort and LoadBalancer services.
      const oldPorts = new Set<number>(a.old && wantsNodePorts(a.old) ? (a.old.spec?.ports ?? []).map((p: any) => p?.nodePort).filter(Number.isInteger) : []);
      const keep = new Set<number>();
      if (wantsNodePorts(svc)) {
        for (const [i, p] of (svc.spec.ports ?? []).entries()) {
          if (!p || typeof p !== 'object') continue;
          if (Number.isInteger(p.nodePort) && p.nodePort !== 0) {
            if (!oldPorts.has(p.nodePort) && !keep.has(p.nodePort)) {
              if (p.nodePort < this.nodePorts[0] || p.nodePort > this.nodePorts[1]) {
                throw this.invalid(svc, `spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${this.nodePorts[0]}-${this.nodePorts[1]}`);
              }
              if (!(await this.reserve(PORT_PREFIX + p.nodePort, owner, a.dryRun))) {
                throw this.invalid(svc, `spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated');
              }
              reserved.push(PORT_PREFIX + p.nodePort);
            }
          } else {
            p.nodePort = await this.allocatePort(owner, a.dryRun);
            reserved.push(PORT_PREFIX + p.nodePort);
          }
          keep.add(p.nodePort);
        }
      } else {
        for (const p of svc.spec.ports ?? []) if (p && typeof p === 'object') delete p.nodePort;
      }
      for (const port of oldPorts) if (!keep.has(port)) toRelease.push(PORT_PREFIX + port);
    } catch (err) {
      await this.release(reserved, a.dryRun);
      throw err;
    }
    return {
      onCommitted: () => this.release(toRelease, a.dryRun),
      onAborted: () => this.release(reserved, a.dryRun),
    };
  }

  async deleted(entry: ResourceEntry, obj: KubeObject): Promise<void> {
    if (!isServices(entry)) return;
    const keys: string[] = [];
    if (wantsClusterIp(obj) && obj.spec?.clusterIP) keys.push(IP_PREFIX + obj.spec.clusterIP);
    if (wantsNodePorts(obj)) for (const p of obj.spec?.ports ?? []) if (Number.isInteger(p?.nodePort)) keys.push(PORT_PREFIX + p.nodePort);
    await this.release(keys, false);
  }

  private invalid(svc: KubeObject, field: string, value: unknown, detail: string) {
    const cause: StatusCause = { reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` };
    return errors.invalid('', 'Service', svc.metadata?.name ?? '', [cause]);
  }

  private used(prefix: string): (k: string) => boolean {
    const objects = this.cache.resource(resourcePrefixOf(prefix)).objects;
    return (k) => objects.has(k);
  }

  /** Creates the allocation key; false when someone holds it. A dry run only looks. */
  private async reserve(key: string, owner: string, dryRun: boolean): Promise<boolean> {
    if (dryRun) return !(await this.store.get(key));
    try {
      const name = key.slice(key.lastIndexOf('/') + 1);
      await this.store.create(key, JSON.stringify({ apiVersion: 'skiff.dev/v1', kind: 'RangeAllocation', metadata: { name }, owner }));
      return true;
    } catch (err) {
      if (isStoreError(err, 'AlreadyExists')) return false;
      throw err;
    }
  }

  private async release(keys: string[], dryRun: boolean): Promise<void> {
    if (dryRun) return;
    for (const k of keys) {
      try {
        await this.store.delete(k);
      } catch (err) {
        if (!isStoreError(err, 'NotFound')) console.error(`service allocation: could not release ${k}: ${(err as Error).message}`);
      }
    }
  }

  private async allocateIp(owner: string, dryRun: boolean): Promise<string> {
    const usable = this.range.size - 2;
    const used = this.used(IP_PREFIX);
    // Start anywhere and probe forward: even a nearly full range finds its free addresses.
    let offset = Math.floor(Math.random() * usable);
    for (let tries = 0, probed = 0; tries < MAX_TRIES && probed < usable; probed++) {
      const ip = numberToIp(this.range.base + 1 + offset);
      offset = (offset + 1) % usable;
      if (used(IP_PREFIX + ip)) continue;
      tries++;
      if (await this.reserve(IP_PREFIX + ip, owner, dryRun)) return ip;
    }
    throw errors.internal(`failed to allocate a serviceIP: range is full (${this.range.cidr})`);
  }

  private async allocatePort(owner: string, dryRun: boolean): Promise<number> {
    const [lo, hi] = this.nodePorts;
    const size = hi - lo + 1;
    const used = this.used(PORT_PREFIX);
    let offset = Math.floor(Math.random() * size);
    for (let tries = 0, probed = 0; tries < MAX_TRIES && probed < size; probed++) {
      const port = lo + offset;
      offset = (offset + 1) % size;
      if (used(PORT_PREFIX + port)) continue;
      tries++;
      if (await this.reserve(PORT_PREFIX + port, owner, dryRun)) return port;
    }
    throw errors.internal(`failed to allocate a nodePort: range is full (${lo}-${hi})`);
  }
}

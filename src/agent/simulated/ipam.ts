/**
 * Pod addresses from a node's podCIDR, as the host-local IPAM plugin hands them out: .1 is the
 * bridge's gateway, pods get .2 upwards, and the search resumes after the last address given (so a
 * freed address is not handed straight to the next pod, which keeps stale endpoints from pointing at
 * a new pod).
 */
import { ipToNumber, numberToIp } from '../../api/ipv4.js';

export class PodAddressPool {
  private readonly first: number;
  private readonly last: number;
  private readonly used = new Set<number>();
  private cursor: number;

  constructor(readonly cidr: string) {
    const [addr, bitsText] = cidr.split('/');
    const base = ipToNumber(addr ?? '');
    const bits = Number(bitsText);
    if (base === undefined || !Number.isInteger(bits) || bits < 8 || bits > 30) throw new Error(`bad pod CIDR ${cidr}`);
    const size = 2 ** (32 - bits);
    const network = base - (base % size);
    this.first = network + 2;
    this.last = network + size - 2; // the top address is broadcast
    this.cursor = this.last;
  }

  /** The next free address, or undefined when the range is exhausted. */
  allocate(): string | undefined {
    const span = this.last - this.first + 1;
    for (let i = 1; i <= span; i++) {
      const n = this.first + ((this.cursor - this.first + i) % span);
      if (!this.used.has(n)) {
        this.used.add(n);
        this.cursor = n;
        return numberToIp(n);
      }
    }
    return undefined;
  }

  /** Marks `ip` as in use (a pod found running at start); false when it is outside the range or taken. */
  reserve(ip: string): boolean {
    const n = ipToNumber(ip);
    if (n === undefined || n < this.first || n > this.last || this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }

  release(ip: string): void {
    const n = ipToNumber(ip);
    if (n !== undefined) this.used.delete(n);
  }
}

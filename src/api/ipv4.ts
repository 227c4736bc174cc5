/** IPv4 addresses as 32-bit numbers, and CIDR ranges over them (node IPAM, pod address pools). */

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function numberToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  /** The network address as a number. */
  network: number;
  bits: number;
  size: number;
}

/** Parses "a.b.c.d/n" (host bits masked off); undefined when it is not an IPv4 CIDR. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = ipToNumber(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  return { network: ip - (ip % size), bits, size };
}

export function formatCidr(network: number, bits: number): string {
  return `${numberToIp(network)}/${bits}`;
}

/**
 * The kernel switches pod networking depends on: forwarding between the pod bridge and the host's
 * uplink, and (when br_netfilter is loaded) iptables seeing bridged traffic, which portmap's hairpin
 * DNAT and kube-proxy-style rules rely on.
 */
import { readFile, writeFile } from 'node:fs/promises';

export interface SysctlChange {
  key: string;
  from: string;
  to: string;
}

const FORWARDING = [
  { key: 'net.ipv4.ip_forward', optional: false },
  // Present only when the br_netfilter module is loaded; we do not load modules behind anyone's back.
  { key: 'net.bridge.bridge-nf-call-iptables', optional: true },
];

export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

export async function readSysctl(key: string): Promise<string | undefined> {
  try {
    return (await readFile(sysctlPath(key), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Turns forwarding on where it is off; returns only what it changed. Throws if ip_forward cannot be set. */
export async function enableForwarding(): Promise<SysctlChange[]> {
  const changes: SysctlChange[] = [];
  for (const { key, optional } of FORWARDING) {
    const current = await readSysctl(key);
    if (current === undefined) {
      if (optional) continue;
      throw new Error(`${sysctlPath(key)} is not readable: is /proc mounted?`);
    }
    if (current === '1') continue;
    try {
      await writeFile(sysctlPath(key), '1');
    } catch (err) {
      if (optional) continue;
      throw new Error(`cannot set ${key}=1: ${(err as Error).message}`);
    }
    changes.push({ key, from: current, to: '1' });
  }
  return changes;
}

let once: Promise<SysctlChange[]> | undefined;

/** enableForwarding, run once per process (every CNI setUp needs it; one write is enough). */
export function enableForwardingOnce(log?: (m: string) => void): Promise<SysctlChange[]> {
  once ??= enableForwarding().then(
    (changes) => {
      for (const c of changes) log?.(`set ${c.key}=${c.to} (was ${c.from}) so pod traffic is forwarded through this host`);
      return changes;
    },
    (err) => {
      once = undefined;
      throw err;
    },
  );
  return once;
}

/**
 * A pod's name resolution files and sandbox description, after the kubelet's dns configurer and
 * its managed /etc/hosts:
 *
 * - resolv.conf by dnsPolicy: `Default` takes the node's; `ClusterFirst` (and
 *   `ClusterFirstWithHostNet`) would point at cluster DNS, which skiff does not run yet, so, like a
 *   kubelet without `--cluster-dns`, they fall back to the node's; `None` is the pod's dnsConfig
 *   alone. dnsConfig nameservers, searches and options are merged in as upstream (searches after
 *   the base ones, options overriding by name).
 * - /etc/hosts: localhost lines, the pod's IP with its hostname (and FQDN with a subdomain), then
 *   hostAliases. hostNetwork pods get the node's /etc/hosts.
 */
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../api/types.js';
import type { PortMapping, SandboxSpec } from './cri.js';

export function hostResolvConf(path = '/etc/resolv.conf'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function resolvConfFor(pod: KubeObject, hostResolv: string): string {
  const spec = pod.spec ?? {};
  const policy = String(spec.dnsPolicy ?? 'ClusterFirst');
  const base = policy === 'None' ? { nameservers: [], searches: [], options: [] } : parseResolv(hostResolv);
  const cfg = (spec.dnsConfig ?? {}) as Record<string, any>;
  const nameservers = [...base.nameservers, ...(Array.isArray(cfg.nameservers) ? cfg.nameservers.map(String) : [])].slice(0, 3);
  const searches = [...new Set([...base.searches, ...(Array.isArray(cfg.searches) ? cfg.searches.map(String) : [])])].slice(0, 32);
  const options = new Map<string, string>();
  for (const o of base.options) options.set(o.split(':')[0]!, o);
  for (const o of Array.isArray(cfg.options) ? cfg.options : []) {
    if (!o?.name) continue;
    options.set(String(o.name), o.value !== undefined ? `${o.name}:${o.value}` : String(o.name));
  }
  const lines: string[] = [];
  if (searches.length > 0) lines.push(`search ${searches.join(' ')}`);
  for (const ns of nameservers) lines.push(`nameserver ${ns}`);
  if (options.size > 0) lines.push(`options ${[...options.values()].join(' ')}`);
  return lines.join('\n') + '\n';
}

function parseResolv(text: string): { nameservers: string[]; searches: string[]; options: string[] } {
  const out = { nameservers: [] as string[], searches: [] as string[], options: [] as string[] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

/** The pod's hostname, as upstream: spec.hostname, else the pod name, cut to 63 characters. */
export function podHostname(pod: KubeObject): string {
  const h = typeof pod.spec?.hostname === 'string' && pod.spec.hostname ? pod.spec.hostname : String(pod.metadata?.name ?? 'pod');
  return h.slice(0, 63).replace(/[-.]+$/, '');
}

export function hostsFileFor(pod: KubeObject, podIP: string): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const hostname = podHostname(pod);
  const sub = pod.spec?.subdomain;
  if (podIP) lines.push(sub ? `${podIP}\t${hostname}.${sub}.${pod.metadata?.namespace}.svc.cluster.local\t${hostname}` : `${podIP}\t${hostname}`);
  const aliases = (Array.isArray(pod.spec?.hostAliases) ? pod.spec.hostAliases : []) as Record<string, any>[];
  if (aliases.length > 0) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) if (a?.ip && Array.isArray(a.hostnames)) lines.push(`${a.ip}\t${a.hostnames.join('\t')}`);
  }
  return lines.join('\n') + '\n';
}

/** Host ports of the pod's containers, for the portmap plugin. */
export function portMappings(pod: KubeObject): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])] as Record<string, any>[]) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) {
      if (!Number.isInteger(p?.hostPort) || p.hostPort <= 0) continue;
      out.push({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: (p.protocol ?? 'TCP') as PortMapping['protocol'], hostIP: p.hostIP || undefined });
    }
  }
  return out;
}

export function sandboxSpecFor(pod: KubeObject, hostResolv: string): SandboxSpec {
  const spec = pod.spec ?? {};
  return {
    podUid: String(pod.metadata?.uid ?? ''),
    namespace: String(pod.metadata?.namespace ?? ''),
    name: String(pod.metadata?.name ?? ''),
    hostname: podHostname(pod),
    hostNetwork: spec.hostNetwork === true,
    hostIPC: spec.hostIPC === true,
    hostPID: spec.hostPID === true,
    shareProcessNamespace: spec.shareProcessNamespace === true,
    portMappings: portMappings(pod),
    resolvConf: resolvConfFor(pod, hostResolv),
    hosts: hostsFileFor(pod, ''),
  };
}

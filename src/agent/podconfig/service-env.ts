/**
 * The service variables a container gets (kubelet getServiceEnvVarMap + envvars.FromServices):
 * `kubernetes` in `default` always, the pod's own namespace's services when enableServiceLinks is not
 * false; for each, `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`, one `<NAME>_SERVICE_PORT_<PORT>` per
 * named port, and Docker-link style `<NAME>_PORT…` variables. Headless and ExternalName services
 * (no cluster IP) give none.
 */
import type { KubeObject } from '../../api/types.js';

function envName(s: string): string {
  return s.replaceAll('-', '_').toUpperCase();
}

function isServiceIPSet(svc: KubeObject): boolean {
  const ip = svc.spec?.clusterIP;
  return typeof ip === 'string' && ip !== '' && ip !== 'None';
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The variables of some services, in upstream's order for each service. */
export function fromServices(services: readonly KubeObject[]): [string, string][] {
  const out: [string, string][] = [];
  for (const svc of services) {
    if (!isServiceIPSet(svc)) continue;
    const ports: any[] = svc.spec?.ports ?? [];
    if (ports.length === 0) continue;
    const prefix = envName(svc.metadata?.name ?? '');
    const ip: string = svc.spec.clusterIP;
    out.push([`${prefix}_SERVICE_HOST`, ip]);
    out.push([`${prefix}_SERVICE_PORT`, String(ports[0].port)]);
    for (const p of ports) if (p?.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
    ports.forEach((p, i) => {
      const proto = String(p?.protocol || 'TCP');
      const url = `${proto.toLowerCase()}://${joinHostPort(ip, p.port)}`;
      if (i === 0) out.push([`${prefix}_PORT`, url]);
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.push([pp, url], [`${pp}_PROTO`, proto.toLowerCase()], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, ip]);
    });
  }
  return out;
}

/**
 * The service variables for a pod in `namespace`, from every service the agent knows (an informer's
 * list). Services are taken in name order so the result does not depend on list order.
 */
export function serviceEnvironment(services: readonly KubeObject[], namespace: string, enableServiceLinks = true): Map<string, string> {
  const chosen = new Map<string, KubeObject>();
  for (const svc of services) {
    const name = svc.metadata?.name ?? '';
    const ns = svc.metadata?.namespace ?? '';
    if (!isServiceIPSet(svc)) continue;
    if (ns === 'default' && name === 'kubernetes') {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (ns === namespace && enableServiceLinks) {
      chosen.set(name, svc);
    }
  }
  const ordered = [...chosen.keys()].sort().map((k) => chosen.get(k)!);
  return new Map(fromServices(ordered));
}

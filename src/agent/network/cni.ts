/**
 * Pod networks from the standard CNI plugins (Debian's containernetworking-plugins), run the way a
 * CNI runtime (libcni, as containerd and CRI-O use it) runs them:
 *
 *   lo    the `loopback` plugin, as its own one-plugin network (what containerd does);
 *   eth0  a conflist `bridge` (gateway on the node bridge, masquerade, hairpin; `host-local` IPAM over
 *         the node's podCIDR) → `portmap` (hostPort DNAT, from runtimeConfig.portMappings).
 *
 * ADD runs the plugins in order, each given the previous one's result as `prevResult`; the final
 * result is cached on disk (as libcni does under /var/lib/cni/results) so that DEL, which runs the
 * plugins in reverse, gets the same prevResult and port mappings even after an agent restart.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetworkError, type PodNetwork, type PodNetworkRequest, type PortMapping } from '../cri.js';
import { run } from '../host/exec.js';
import { enableForwardingOnce } from '../host/sysctl.js';

export const CNI_VERSION = '1.0.0';
export const DEFAULT_CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const LOOPBACK_NETWORK = 'cni-loopback';
const POD_IFNAME = 'eth0';

export interface CniNetworkOptions {
  /** The node's spec.podCIDR (IPv4). */
  podCIDR: string;
  /** Linux bridge the pods hang off (≤15 characters). Default 'skiff0'. */
  bridge?: string;
  /** The CNI network name (shows in iptables comments and host-local's state). Default 'skiff'. */
  networkName?: string;
  /** Where the plugins live. Default: the first of /usr/lib/cni, /opt/cni/bin that has `bridge`. */
  cniBinDir?: string;
  /** host-local's allocations (`<dataDir>/networks`) and cached ADD results (`<dataDir>/results`). */
  dataDir: string;
  /** Pod interface MTU. Default: the MTU of the host's default-route interface (else the plugin's 1500). */
  mtu?: number;
  log?: (m: string) => void;
  /** Per plugin invocation. Default 60 s. */
  pluginTimeoutMs?: number;
}

/** A CNI result (spec 1.0.0). */
export interface CniResult {
  cniVersion?: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: unknown;
}

/** A plugin's failure, with its own error fields (`{code, msg, details}`) kept apart. */
export class CniError extends NetworkError {
  constructor(
    message: string,
    exhausted: boolean,
    readonly plugin: string,
    readonly command: 'ADD' | 'DEL',
    /** The CNI error code (spec: 1-99 reserved, e.g. 7 invalid network config, 11 try again later). */
    readonly code: number | undefined,
    /** `msg` (plus `; details`) as the plugin wrote it. */
    readonly pluginMessage: string,
  ) {
    super(message, exhausted);
    this.name = 'CniError';
  }
}

/** What an ADD left behind, enough to undo it exactly (libcni's cache entry, our own shape). */
interface CachedAttachment {
  kind: 'skiff-cni-cache-v1';
  containerId: string;
  ifName: string;
  networkName: string;
  netns: string;
  portMappings: CniPortMapping[];
  result: CniResult;
}

/** The portmap plugin's runtimeConfig entry (CNI CONVENTIONS: `portMappings`). */
interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

type PluginConf = Record<string, unknown> & { type: string };

// host-local's words when the range is used up (allocator.go: "no IP addresses available in range set").
const EXHAUSTED = /no IP addresses available in range set/;
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class CniNetwork implements PodNetwork {
  readonly bridge: string;
  readonly networkName: string;
  readonly podCIDR: string;
  private readonly log: (m: string) => void;
  private readonly binDir: string;
  private readonly timeoutMs: number;
  private mtu: Promise<number | undefined> | undefined;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: CniNetworkOptions) {
    this.podCIDR = normalizeCidr(opts.podCIDR);
    this.bridge = opts.bridge ?? 'skiff0';
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(this.bridge)) throw new Error(`bridge name "${this.bridge}" is not a valid interface name (1-15 characters)`);
    this.networkName = opts.networkName ?? 'skiff';
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(this.networkName)) throw new Error(`network name "${this.networkName}" is not a valid CNI network name`);
    this.binDir = opts.cniBinDir ?? DEFAULT_CNI_BIN_DIRS.find((d) => existsSync(join(d, 'bridge'))) ?? DEFAULT_CNI_BIN_DIRS[0]!;
    this.log = opts.log ?? (() => {});
    this.timeoutMs = opts.pluginTimeoutMs ?? 60_000;
    if (opts.mtu !== undefined) this.mtu = Promise.resolve(opts.mtu);
  }

  /** The network configuration list the eth0 plugins run from. */
  async conflist(): Promise<{ cniVersion: string; name: string; plugins: PluginConf[] }> {
    this.mtu ??= defaultRouteMtu();
    const mtu = await this.mtu;
    return {
      cniVersion: CNI_VERSION,
      name: this.networkName,
      plugins: [
        {
          type: 'bridge',
          bridge: this.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ...(mtu ? { mtu } : {}),
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: this.podCIDR }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(this.opts.dataDir, 'networks'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    };
  }

  setUp(req: PodNetworkRequest): Promise<{ ip: string; gateway?: string }> {
    return this.serialized(req.sandboxId, () => this.add(req));
  }

  tearDown(req: PodNetworkRequest): Promise<void> {
    return this.serialized(req.sandboxId, () => this.del(req));
  }

  private async add(req: PodNetworkRequest): Promise<{ ip: string; gateway?: string }> {
    checkContainerId(req.sandboxId);
    await enableForwardingOnce(this.log).catch((err: Error) => {
      throw new NetworkError(`cannot enable forwarding for pod traffic: ${err.message}`);
    });
    const portMappings = toCniPortMappings(req.portMappings);
    try {
      await this.invokeList(loopbackList(), 'ADD', req, 'lo', []);
      const result = await this.invokeList(await this.conflist(), 'ADD', req, POD_IFNAME, portMappings);
      const addr = podAddress(result, req.netnsPath);
      if (!addr) throw new NetworkError(`plugin chain for network "${this.networkName}" returned no IPv4 address for ${POD_IFNAME}`);
      await this.writeCache(req.sandboxId, { kind: 'skiff-cni-cache-v1', containerId: req.sandboxId, ifName: POD_IFNAME, networkName: this.networkName, netns: req.netnsPath, portMappings, result });
      return addr;
    } catch (err) {
      // A half-done ADD (address taken, veth made, portmap failed) is undone here rather than left for
      // a tearDown that may never come; the first error is the one worth reporting.
      await this.del(req).catch((delErr: Error) => this.log(`cni: cleaning up after a failed setUp of ${req.sandboxId}: ${delErr.message}`));
      throw err instanceof NetworkError ? err : new NetworkError((err as Error).message);
    }
  }

  private async del(req: PodNetworkRequest): Promise<void> {
    checkContainerId(req.sandboxId);
    const cached = await this.readCache(req.sandboxId);
    const portMappings = cached?.portMappings.length ? cached.portMappings : toCniPortMappings(req.portMappings);
    // CNI asks runtimes to call DEL even when the namespace is gone, with its path: the plugins release
    // what lives outside it (the address, the port mappings) and skip what went with it.
    const netnsPath = req.netnsPath || cached?.netns || '';
    const request = { ...req, netnsPath };
    await this.invokeList(await this.conflist(), 'DEL', request, POD_IFNAME, portMappings, cached?.result);
    if (netnsPath && existsSync(netnsPath)) await this.invokeList(loopbackList(), 'DEL', request, 'lo', []);
    else await this.removeMasquerade(req.sandboxId);
    await rm(this.cachePath(req.sandboxId), { force: true });
  }

  /**
   * The bridge plugin removes a pod's masquerade chain only when it can still enter the pod's
   * namespace (it learns the addresses from eth0); with the namespace gone, the rule and chain would
   * stay forever. They carry the comment `name: "<network>" id: "<container>"`, which finds them.
   */
  private async removeMasquerade(containerId: string): Promise<void> {
    const listing = await run('iptables', ['-w', '-t', 'nat', '-S', 'POSTROUTING'], { timeoutMs: this.timeoutMs });
    if (listing.code !== 0) return;
    const comment = `name: "${this.networkName}" id: "${containerId}"`;
    for (const line of listing.stdout.split('\n')) {
      if (!line.startsWith('-A POSTROUTING ')) continue;
      const words = splitIptablesLine(line);
      const at = words.indexOf('--comment');
      if (at < 0 || words[at + 1] !== comment) continue;
      const target = words[words.indexOf('-j') + 1];
      await run('iptables', ['-w', '-t', 'nat', '-D', ...words.slice(1)], { timeoutMs: this.timeoutMs });
      if (target?.startsWith('CNI-')) {
        await run('iptables', ['-w', '-t', 'nat', '-F', target], { timeoutMs: this.timeoutMs });
        await run('iptables', ['-w', '-t', 'nat', '-X', target], { timeoutMs: this.timeoutMs });
      }
      this.log(`cni: removed the masquerade rule of ${containerId} (its network namespace was already gone)`);
    }
  }

  private async invokeList(
    list: { cniVersion: string; name: string; plugins: PluginConf[] },
    command: 'ADD' | 'DEL',
    req: PodNetworkRequest,
    ifName: string,
    portMappings: CniPortMapping[],
    cachedResult?: CniResult,
  ): Promise<CniResult> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CNI_COMMAND: command,
      CNI_CONTAINERID: req.sandboxId,
      CNI_NETNS: req.netnsPath,
      CNI_IFNAME: ifName,
      CNI_PATH: this.binDir,
      // What containerd and CRI-O pass: plugins that know them (host-local ignores them) may use them.
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${req.namespace};K8S_POD_NAME=${req.name};K8S_POD_INFRA_CONTAINER_ID=${req.sandboxId};K8S_POD_UID=${req.podUid}`,
    };
    const plugins = command === 'ADD' ? list.plugins : [...list.plugins].reverse();
    let prevResult: CniResult | undefined = command === 'DEL' ? cachedResult : undefined;
    for (const plugin of plugins) {
      const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
      if (prevResult) conf.prevResult = prevResult;
      const caps = plugin.capabilities as Record<string, boolean> | undefined;
      // portmap only acts on mappings: for the many pods without hostPorts it is a process (and, on
      // DEL, an iptables pass) for nothing. libcni would run it anyway; skipping it changes no state.
      if (caps?.portMappings && portMappings.length === 0 && plugin.type === 'portmap') continue;
      if (caps?.portMappings && portMappings.length > 0) conf.runtimeConfig = { portMappings };
      const out = await this.exec(plugin.type, command, env, conf, list.name);
      if (command === 'ADD') prevResult = out;
    }
    return prevResult ?? {};
  }

  private async exec(type: string, command: 'ADD' | 'DEL', env: NodeJS.ProcessEnv, conf: Record<string, unknown>, network: string): Promise<CniResult> {
    const path = join(this.binDir, type);
    const r = await run(path, [], { env, input: JSON.stringify(conf), timeoutMs: this.timeoutMs });
    const where = `plugin type="${type}" name="${network}" failed (${command.toLowerCase()})`;
    if (r.spawnError) {
      throw new CniError(`${where}: cannot run ${path}: ${r.spawnError} (install containernetworking-plugins)`, false, type, command, undefined, r.spawnError);
    }
    if (r.timedOut) throw new CniError(`${where}: no answer within ${this.timeoutMs} ms`, false, type, command, undefined, 'timed out');
    if (r.code !== 0) {
      const { code, message } = parsePluginError(r.stdout, r.stderr, r.code);
      throw new CniError(`${where}: ${message}`, EXHAUSTED.test(message), type, command, code, message);
    }
    if (command === 'DEL' || r.stdout.trim() === '') return {};
    try {
      return JSON.parse(r.stdout) as CniResult;
    } catch {
      throw new CniError(`${where}: its result is not JSON: ${r.stdout.slice(0, 200)}`, false, type, command, undefined, 'bad result');
    }
  }

  private cachePath(containerId: string): string {
    return join(this.opts.dataDir, 'results', `${this.networkName}-${containerId}-${POD_IFNAME}`);
  }

  private async writeCache(containerId: string, entry: CachedAttachment): Promise<void> {
    const path = this.cachePath(containerId);
    await mkdir(join(this.opts.dataDir, 'results'), { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(entry));
    await rename(`${path}.tmp`, path);
  }

  private async readCache(containerId: string): Promise<CachedAttachment | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.cachePath(containerId), 'utf8')) as CachedAttachment;
      return entry?.kind === 'skiff-cni-cache-v1' ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /** One ADD or DEL at a time per sandbox: a DEL racing its own ADD would leave half of either. */
  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }
}

function loopbackList(): { cniVersion: string; name: string; plugins: PluginConf[] } {
  return { cniVersion: CNI_VERSION, name: LOOPBACK_NETWORK, plugins: [{ type: 'loopback' }] };
}

function checkContainerId(id: string): void {
  // The CNI spec's rule for CNI_CONTAINERID; it also names files and iptables comments here.
  if (!CONTAINER_ID.test(id)) throw new NetworkError(`sandbox ID "${id}" is not a valid CNI container ID`);
}

function toCniPortMappings(ports: PortMapping[]): CniPortMapping[] {
  return ports
    .filter((p) => p.hostPort > 0)
    .map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol.toLowerCase(), ...(p.hostIP ? { hostIP: p.hostIP } : {}) }));
}

/** The IPv4 address (and its gateway) on the pod's eth0 in a final result. */
export function podAddress(result: CniResult, netnsPath: string): { ip: string; gateway?: string } | undefined {
  const ifaces = result.interfaces ?? [];
  const isPodIface = (i: number | undefined) => {
    if (i === undefined) return true;
    const iface = ifaces[i];
    return iface !== undefined && iface.name === POD_IFNAME && (!!iface.sandbox || !netnsPath);
  };
  for (const entry of result.ips ?? []) {
    const ip = entry.address.split('/')[0] ?? '';
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || !isPodIface(entry.interface)) continue;
    return entry.gateway ? { ip, gateway: entry.gateway } : { ip };
  }
  return undefined;
}

/** A plugin's error answer: `{code, msg, details}` on stdout (spec), else whatever it said. */
export function parsePluginError(stdout: string, stderr: string, exitCode: number): { code?: number; message: string } {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (e && typeof e.msg === 'string') {
      const message = typeof e.details === 'string' && e.details ? `${e.msg}; ${e.details}` : e.msg;
      return { code: typeof e.code === 'number' ? e.code : undefined, message };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = (stdout.trim() || stderr.trim()).slice(0, 2000);
  return { message: text || `exit code ${exitCode}` };
}

/** Splits one `iptables -S` line into its words, honouring its double quotes and backslash escapes. */
export function splitIptablesLine(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

function normalizeCidr(cidr: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || !(bits >= 8 && bits <= 30)) throw new Error(`pod CIDR "${cidr}" is not an IPv4 CIDR between /8 and /30`);
  const n = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const base = n - (n % size);
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.')}/${bits}`;
}

/** The MTU of the interface the default route leaves by, so pods do not send frames the uplink drops. */
async function defaultRouteMtu(): Promise<number | undefined> {
  try {
    const routes = (await readFile('/proc/net/route', 'utf8')).split('\n').slice(1);
    const dflt = routes.map((l) => l.trim().split(/\s+/)).find((f) => f[1] === '00000000' && f[7] === '00000000');
    if (!dflt?.[0]) return undefined;
    const mtu = Number((await readFile(`/sys/class/net/${dflt[0]}/mtu`, 'utf8')).trim());
    return Number.isInteger(mtu) && mtu >= 576 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

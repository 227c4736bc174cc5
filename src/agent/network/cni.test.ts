// Real CNI plugins on this host (root): every bridge, netns, chain and directory is named
// skt-host-<random> and removed in `after`, whatever happened before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkError, type PodNetworkRequest, type PortMapping } from '../cri.js';
import { run, runOk } from '../host/exec.js';
import { CniError, CniNetwork, DEFAULT_CNI_BIN_DIRS, parsePluginError, podAddress, splitIptablesLine } from './cni.js';

const RAND = randomBytes(3).toString('hex');
const NAME = `skt-host-${RAND}`; // 15 characters: a valid interface name, and our network's name
const HTTP_PORT = 8080;

function requirements(): void {
  if (process.getuid?.() !== 0) throw new Error('cni.test needs root (it creates bridges, network namespaces and iptables rules)');
  const dir = DEFAULT_CNI_BIN_DIRS.find((d) => existsSync(join(d, 'bridge')));
  const missing = ['bridge', 'host-local', 'loopback', 'portmap'].filter((p) => !dir || !existsSync(join(dir, p)));
  if (missing.length) throw new Error(`CNI plugins missing (${missing.join(', ')}): apt-get install containernetworking-plugins`);
  if (!existsSync('/bin/busybox') && !existsSync('/usr/bin/busybox')) throw new Error('busybox missing: apt-get install busybox-static');
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

function overlaps(a: string, b: string): boolean {
  const [ia, ba] = a.split('/');
  const [ib, bb] = b.split('/');
  const bits = Math.min(Number(ba ?? 32), Number(bb ?? 32));
  const size = 2 ** (32 - bits);
  return Math.floor(ipToNumber(ia!) / size) === Math.floor(ipToNumber(ib!) / size);
}

/** A /29 in 10.128.0.0/9 that no address or route on this host touches. */
async function unusedCidr(): Promise<string> {
  const inUse = [...(await runOk('ip', ['-4', '-o', 'addr'])).matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1]!);
  for (const line of (await runOk('ip', ['-4', 'route', 'show', 'table', 'all'])).split('\n')) {
    const dst = line.split(' ')[0] ?? '';
    if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst)) inUse.push(dst.includes('/') ? dst : `${dst}/32`);
  }
  for (let i = 0; i < 100; i++) {
    const b = randomBytes(3);
    const cidr = `10.${128 + (b[0]! % 128)}.${b[1]}.${b[2]! & 0xf8}/29`;
    if (!inUse.some((u) => overlaps(u, cidr))) return cidr;
  }
  throw new Error('no unused /29 found in 10.128.0.0/9');
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const req = request({ host, port, path: '/index.html', timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolveBody(body));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}/ timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function poll<T>(what: string, fn: () => Promise<T>, attempts = 50): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what}: ${(last as Error)?.message}`);
}

/** Deletes every nat rule whose comment names our network, and the per-pod chains they jump to. */
async function removeOurIptables(): Promise<string[]> {
  const removed: string[] = [];
  const listing = await run('iptables', ['-w', '-t', 'nat', '-S']);
  const chains = new Set<string>();
  for (const line of listing.stdout.split('\n')) {
    if (!line.startsWith('-A ') || !line.includes(`name: \\"${NAME}\\"`)) continue;
    const words = splitIptablesLine(line);
    const target = words[words.indexOf('-j') + 1];
    if (target?.startsWith('CNI-') && !target.startsWith('CNI-HOSTPORT-')) chains.add(target);
    await run('iptables', ['-w', '-t', 'nat', '-D', ...words.slice(1)]);
    removed.push(line);
  }
  for (const c of chains) {
    await run('iptables', ['-w', '-t', 'nat', '-F', c]);
    await run('iptables', ['-w', '-t', 'nat', '-X', c]);
  }
  return removed;
}

async function ourIptablesLines(): Promise<string[]> {
  const listing = await runOk('iptables', ['-w', '-t', 'nat', '-S']);
  return listing.split('\n').filter((l) => l.includes(`name: \\"${NAME}\\"`));
}

describe('CniNetwork with the real plugins', { concurrency: false }, () => {
  let net: CniNetwork;
  let cidr: string;
  let dataDir: string;
  let webRoot: string;
  const logs: string[] = [];
  const namespaces = new Set<string>();
  const procs: ChildProcess[] = [];
  const attached = new Map<string, PodNetworkRequest>();
  const ips = new Map<string, string>();

  async function pod(suffix: string, portMappings: PortMapping[] = []): Promise<PodNetworkRequest> {
    const ns = `${NAME}-${suffix}`;
    if (!namespaces.has(ns)) {
      await runOk('ip', ['netns', 'add', ns]);
      namespaces.add(ns);
    }
    return { podUid: `uid-${suffix}`, namespace: 'default', name: `pod-${suffix}`, netnsPath: `/run/netns/${ns}`, sandboxId: `skthost${RAND}${suffix}`, portMappings };
  }

  async function setUp(req: PodNetworkRequest): Promise<string> {
    attached.set(req.sandboxId, req);
    const { ip, gateway } = await net.setUp(req);
    ips.set(req.sandboxId, ip);
    assert.equal(gateway, gatewayIp());
    return ip;
  }

  /** The k-th address of the /29 (1 is the gateway). */
  function hostAt(k: number): string {
    const parts = cidr.split('/')[0]!.split('.').map(Number);
    return `${parts[0]}.${parts[1]}.${parts[2]}.${parts[3]! + k}`;
  }
  const gatewayIp = () => hostAt(1);

  // (busybox 1.35's wget crashes with -T; run's own time limit bounds it instead)
  function inNetns(req: PodNetworkRequest, args: string[]) {
    return run('ip', ['netns', 'exec', req.netnsPath.split('/').pop()!, ...args], { timeoutMs: 10_000 });
  }

  before(async () => {
    requirements();
    cidr = await unusedCidr();
    dataDir = await mkdtemp(join(tmpdir(), `${NAME}-`));
    webRoot = join(dataDir, 'www');
    await runOk('mkdir', ['-p', webRoot]);
    await writeFile(join(webRoot, 'index.html'), `hello from ${NAME}`);
    net = new CniNetwork({ podCIDR: cidr, bridge: NAME, networkName: NAME, dataDir: join(dataDir, 'cni'), log: (m) => logs.push(m) });
  });

  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    for (const req of attached.values()) await net?.tearDown(req).catch(() => {});
    for (const ns of namespaces) await run('ip', ['netns', 'del', ns]);
    await removeOurIptables();
    await run('ip', ['link', 'del', NAME]);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('two pods get addresses from the pod CIDR, reach each other, and the host reaches them', async () => {
    const a = await pod('a');
    const b = await pod('b');
    const ipA = await setUp(a);
    const ipB = await setUp(b);
    assert.notEqual(ipA, ipB);
    for (const ip of [ipA, ipB]) assert.ok(overlaps(`${ip}/32`, cidr), `${ip} is in ${cidr}`);
    // lo is up too (the loopback plugin), eth0 carries the address
    const addrs = await inNetns(a, ['ip', '-o', 'addr']);
    assert.match(addrs.stdout, /\d+: lo\s+inet 127\.0\.0\.1\/8/);
    assert.match(addrs.stdout, new RegExp(`eth0\\s+inet ${ipA.replaceAll('.', '\\.')}/29`));

    const httpd = spawn('ip', ['netns', 'exec', `${NAME}-a`, 'busybox', 'httpd', '-f', '-p', `0.0.0.0:${HTTP_PORT}`, '-h', webRoot], { stdio: 'ignore' });
    procs.push(httpd);
    // from the host to the pod IP
    assert.equal(await poll('host → pod A', () => httpGet(ipA, HTTP_PORT)), `hello from ${NAME}`);
    // from pod B to pod A, across the bridge
    const fromB = await inNetns(b, ['busybox', 'wget', '-q', '-O', '-', `http://${ipA}:${HTTP_PORT}/index.html`]);
    assert.equal(fromB.code, 0, fromB.stderr);
    assert.equal(fromB.stdout, `hello from ${NAME}`);
    // pods route everything else through the gateway on the bridge
    const routes = await inNetns(b, ['ip', 'route']);
    assert.match(routes.stdout, new RegExp(`default via ${gatewayIp().replaceAll('.', '\\.')} dev eth0`));
  });

  test('a hostPort mapping (portmap) reaches the pod through the gateway address and 127.0.0.1', async () => {
    const hostPort = await freePort();
    const c = await pod('c', [{ containerPort: HTTP_PORT, hostPort, protocol: 'TCP' }]);
    const ipC = await setUp(c);
    const httpd = spawn('ip', ['netns', 'exec', `${NAME}-c`, 'busybox', 'httpd', '-f', '-p', `0.0.0.0:${HTTP_PORT}`, '-h', webRoot], { stdio: 'ignore' });
    procs.push(httpd);
    await poll('host → pod C', () => httpGet(ipC, HTTP_PORT));
    // another pod, to the node's address on the bridge at the host port: DNAT to C (hairpin on the bridge)
    const b = attached.get(`skthost${RAND}b`)!;
    const viaGateway = await inNetns(b, ['busybox', 'wget', '-q', '-O', '-', `http://${gatewayIp()}:${hostPort}/index.html`]);
    assert.equal(viaGateway.code, 0, viaGateway.stderr);
    assert.equal(viaGateway.stdout, `hello from ${NAME}`);
    // the host itself, on loopback: portmap marks 127.0.0.1 for masquerade and sets route_localnet on the bridge
    assert.equal(await poll('host 127.0.0.1:hostPort → pod C', () => httpGet('127.0.0.1', hostPort), 20), `hello from ${NAME}`);
    const dnat = (await ourIptablesLines()).filter((l) => l.includes(`dnat name: \\"${NAME}\\"`));
    assert.equal(dnat.length, 1, 'one hostport DNAT rule, for pod C');

    await net.tearDown(c);
    attached.delete(c.sandboxId);
    assert.deepEqual((await ourIptablesLines()).filter((l) => l.includes(`id: \\"${c.sandboxId}\\"`)), [], 'tearDown removed C’s masquerade and hostport rules');
    await assert.rejects(httpGet('127.0.0.1', hostPort), 'the host port is no longer forwarded');
  });

  test('the /29 runs out with the plugin’s own message; tearDown gives addresses back', async () => {
    // a /29 has .2-.6 for pods (.1 is the gateway): a and b hold two
    const more = [await pod('d'), await pod('e'), await pod('f')];
    for (const req of more) await setUp(req);
    const g = await pod('g');
    attached.set(g.sandboxId, g);
    const err = await net.setUp(g).then(
      () => assert.fail('a sixth pod got an address from a /29'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NetworkError);
    assert.ok(err instanceof CniError);
    assert.equal(err.exhausted, true);
    assert.equal(err.message, `plugin type="bridge" name="${NAME}" failed (add): failed to allocate for range 0: no IP addresses available in range set: ${hostAt(1)}-${hostAt(6)}`);
    assert.match(err.pluginMessage, /no IP addresses available in range set/);
    // the failed setUp left nothing behind in the namespace
    assert.doesNotMatch((await inNetns(g, ['ip', '-o', 'link'])).stdout, /eth0/);

    await net.tearDown(more[0]!);
    await net.tearDown(more[0]!); // idempotent
    const ipG = await setUp(g);
    assert.equal(ipG, ips.get(more[0]!.sandboxId), 'the released address is the only one free');
    attached.delete(more[0]!.sandboxId);
  });

  test('tearDown releases the address even when the network namespace is already gone, and is safe when setUp never ran', async () => {
    const e = attached.get(`skthost${RAND}e`)!;
    await runOk('ip', ['netns', 'del', `${NAME}-e`]);
    namespaces.delete(`${NAME}-e`);
    await net.tearDown(e);
    attached.delete(e.sandboxId);
    assert.deepEqual((await ourIptablesLines()).filter((l) => l.includes(`id: \\"${e.sandboxId}\\"`)), [], 'no masquerade rule of E is left');
    assert.ok(logs.some((l) => l.includes(`removed the masquerade rule of ${e.sandboxId}`)));
    const allocated = await readdir(join(dataDir, 'cni', 'networks', NAME));
    assert.ok(!allocated.includes(ips.get(e.sandboxId)!), `host-local released ${ips.get(e.sandboxId)}`);

    const never = await pod('h');
    await net.tearDown(never);
    await net.tearDown({ ...never, netnsPath: '/run/netns/skt-host-absent' });
    const ipH = await setUp(never);
    assert.equal(ipH, ips.get(e.sandboxId));
  });

  test('tearing every pod down leaves no rule, address or cached result of this network', async () => {
    for (const req of [...attached.values()]) {
      await net.tearDown(req);
      attached.delete(req.sandboxId);
    }
    assert.deepEqual(await ourIptablesLines(), []);
    const allocated = (await readdir(join(dataDir, 'cni', 'networks', NAME))).filter((f) => /^\d+\./.test(f));
    assert.deepEqual(allocated, []);
    assert.deepEqual(await readdir(join(dataDir, 'cni', 'results')), []);
  });
});

describe('CNI result and error parsing', () => {
  test('the pod address is the IPv4 on eth0 inside the sandbox, not the bridge’s', () => {
    const result = {
      interfaces: [{ name: 'br0', mac: 'aa' }, { name: 'veth1', mac: 'bb' }, { name: 'eth0', mac: 'cc', sandbox: '/run/netns/x' }],
      ips: [
        { address: '10.1.0.1/24', interface: 0 },
        { address: 'fd00::5/64', interface: 2 },
        { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 2 },
      ],
    };
    assert.deepEqual(podAddress(result, '/run/netns/x'), { ip: '10.1.0.5', gateway: '10.1.0.1' });
    assert.equal(podAddress({ ips: [] }, '/run/netns/x'), undefined);
  });

  test('a plugin error is read from its JSON, details included; anything else is kept as text', () => {
    assert.deepEqual(parsePluginError('{"cniVersion":"1.0.0","code":7,"msg":"invalid config","details":"no subnet"}', '', 1), { code: 7, message: 'invalid config; no subnet' });
    assert.deepEqual(parsePluginError('', 'panic: boom\n', 2), { message: 'panic: boom' });
    assert.deepEqual(parsePluginError('', '', 3), { message: 'exit code 3' });
  });

  test('iptables -S lines split with their quoted comments intact', () => {
    const line = '-A POSTROUTING -s 10.1.0.2/32 -m comment --comment "name: \\"skiff\\" id: \\"abc\\"" -j CNI-0123';
    assert.deepEqual(splitIptablesLine(line), ['-A', 'POSTROUTING', '-s', '10.1.0.2/32', '-m', 'comment', '--comment', 'name: "skiff" id: "abc"', '-j', 'CNI-0123']);
  });

  test('bad pod CIDRs, bridge names and sandbox IDs are refused', async () => {
    assert.throws(() => new CniNetwork({ podCIDR: '10.0.0.0/33', dataDir: '/nonexistent' }), /not an IPv4 CIDR/);
    assert.throws(() => new CniNetwork({ podCIDR: '10.0.0.0/24', bridge: 'a-bridge-name-too-long', dataDir: '/nonexistent' }), /not a valid interface name/);
    const n = new CniNetwork({ podCIDR: '10.0.0.9/24', dataDir: '/nonexistent' });
    assert.equal(n.podCIDR, '10.0.0.0/24');
    await assert.rejects(n.tearDown({ podUid: 'u', namespace: 'd', name: 'p', netnsPath: '', sandboxId: '../x', portMappings: [] }), NetworkError);
  });
});

/**
 * The ceiling of this machine for the load the benchmark makes: a trivial node:https server (same
 * TLS setup as skiff: client certificates requested, TLS 1.3) answering every request with a fixed
 * 1.3 KB JSON body, driven by the benchmark's own client (32 keep-alive connections). Run once
 * as is, and once calling socket.getPeerCertificate() per request as skiff's authentication does.
 *
 *   node dist/bench/baseline.js [--seconds 4]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePki } from '../src/pki/certs.js';
import { freePort } from '../test/harness/etcd.js';
import { RawConnection, type Endpoint } from './http-client.js';
import { machineBusySeconds, procSample } from './server.js';

const SERVER = `
import https from 'node:https';
const [certs, mode, port] = process.argv.slice(1);
const pki = JSON.parse(certs);
const body = JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', data: { payload: 'x'.repeat(1200) } });
const s = https.createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
  if (mode === 'peer') req.socket.getPeerCertificate();
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
});
s.keepAliveTimeout = 65000;
s.listen(Number(port), '127.0.0.1', () => console.log('listening'));
`;

async function measure(pki: Awaited<ReturnType<typeof ensurePki>>, mode: 'plain' | 'peer', seconds: number): Promise<{ rps: number; serverCpu: number; othersCpu: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER, JSON.stringify(pki), mode, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('baseline server did not start')), 10_000);
      child.stdout!.once('data', () => {
        clearTimeout(t);
        resolve();
      });
    });
    const ep: Endpoint = { host: '127.0.0.1', port, ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey };
    const conns = Array.from({ length: 32 }, () => new RawConnection(ep));
    await Promise.all(conns.map((c) => c.request('GET', '/warmup')));
    let n = 0;
    const cpu0 = procSample(child.pid!).cpuSeconds;
    const machine0 = machineBusySeconds();
    const bench0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    await Promise.all(
      conns.map(async (c) => {
        while (performance.now() < end) {
          const r = await c.request('GET', '/api/v1/namespaces/bench/configmaps/cm-00001');
          if (r.status !== 200) throw new Error(`baseline server answered ${r.status}`);
          n++;
        }
      }),
    );
    const s = (performance.now() - t0) / 1000;
    const server = procSample(child.pid!).cpuSeconds - cpu0;
    const b = process.cpuUsage(bench0);
    const others = machineBusySeconds() - machine0 - server - (b.user + b.system) / 1e6;
    for (const c of conns) c.close();
    return { rps: Math.round(n / s), serverCpu: Math.round((100 * server) / s), othersCpu: Math.max(0, Math.round((100 * others) / s)) };
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '4' } } });
  const seconds = Number(values.seconds);
  const dir = await mkdtemp(join(tmpdir(), 'skiff-baseline-'));
  try {
    const pki = await ensurePki(dir);
    for (const mode of ['plain', 'peer'] as const) {
      const r = await measure(pki, mode, seconds);
      console.log(`trivial node:https server${mode === 'peer' ? ' + getPeerCertificate() per request' : ''}: ${r.rps.toLocaleString('en-US')} req/s (server CPU ${r.serverCpu}%, other processes ${r.othersCpu}%)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { probeTiming, ProbeWorker, runProbe, type ProbeTarget } from './probes.js';

describe('container probes', () => {
  let http: Server;
  let port: number;
  let closedPort: number;
  const target = (exec?: ProbeTarget['exec']): ProbeTarget => ({
    podIP: '127.0.0.1',
    ports: new Map([['web', port]]),
    exec: exec ?? (async () => ({ exitCode: 0, output: '', timedOut: false })),
  });

  before(async () => {
    http = createHttpServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : req.url === '/moved' ? 302 : 500;
      res.end(req.headers['user-agent']);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
    const t = createTcpServer();
    await new Promise<void>((r) => t.listen(0, '127.0.0.1', r));
    closedPort = (t.address() as AddressInfo).port;
    await new Promise((r) => t.close(r));
  });
  after(() => http.close());

  it('httpGet succeeds on 2xx and 3xx, by number or port name, and fails with upstream\'s message otherwise', async () => {
    assert.deepEqual(await runProbe({ httpGet: { path: '/healthz', port } }, target(), 1000), { success: true, output: '' });
    assert.equal((await runProbe({ httpGet: { path: '/moved', port: 'web' } }, target(), 1000)).success, true);
    assert.deepEqual(await runProbe({ httpGet: { path: '/broken', port } }, target(), 1000), { success: false, output: 'HTTP probe failed with statuscode: 500' });
    const refused = await runProbe({ httpGet: { path: '/', port: closedPort } }, target(), 1000);
    assert.equal(refused.success, false);
    assert.match(refused.output, new RegExp(`dial tcp 127\\.0\\.0\\.1:${closedPort}: connect: connection refused`));
    assert.deepEqual(await runProbe({ httpGet: { port: 'nope' } }, target(), 1000), { success: false, output: 'unknown port "nope"' });
  });

  it('tcpSocket connects, exec reads the exit code, gRPC is refused clearly', async () => {
    assert.equal((await runProbe({ tcpSocket: { port } }, target(), 1000)).success, true);
    assert.equal((await runProbe({ tcpSocket: { port: closedPort } }, target(), 1000)).success, false);
    const seen: string[][] = [];
    const exec: ProbeTarget['exec'] = async (cmd) => {
      seen.push(cmd);
      return { exitCode: cmd[0] === 'true' ? 0 : 1, output: 'no such file\n', timedOut: false };
    };
    assert.equal((await runProbe({ exec: { command: ['true'] } }, target(exec), 1000)).success, true);
    assert.deepEqual(await runProbe({ exec: { command: ['cat', '/tmp/x'] } }, target(exec), 1000), { success: false, output: 'no such file' });
    assert.deepEqual(seen, [['true'], ['cat', '/tmp/x']]);
    assert.match((await runProbe({ grpc: { port } }, target(), 1000)).output, /not supported/);
  });

  it('upstream defaults: period 10 s, timeout 1 s, failure threshold 3; liveness needs one success', () => {
    assert.deepEqual(probeTiming({}, 'liveness'), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
    assert.equal(probeTiming({ successThreshold: 3 }, 'liveness').successThreshold, 1);
    assert.equal(probeTiming({ successThreshold: 3 }, 'readiness').successThreshold, 3);
  });

  it('a liveness probe flips to failed only after failureThreshold consecutive failures, with an event per failure', async () => {
    const changes: boolean[] = [];
    const failures: string[] = [];
    let done!: () => void;
    const flipped = new Promise<void>((r) => (done = r));
    const w = new ProbeWorker(
      { tcpSocket: { port: closedPort }, periodSeconds: 1, failureThreshold: 2 },
      'liveness',
      target(),
      (ok) => {
        changes.push(ok);
        done();
      },
      (out) => failures.push(out),
    );
    w.start(Date.now(), Date.now());
    await flipped;
    w.stop();
    assert.deepEqual(changes, [false]);
    assert.equal(failures.length, 2);
  });

  it('a readiness probe reports ready once it succeeds', async () => {
    let done!: (ok: boolean) => void;
    const result = new Promise<boolean>((r) => (done = r));
    const w = new ProbeWorker({ httpGet: { path: '/healthz', port } }, 'readiness', target(), (ok) => done(ok), () => undefined);
    w.start(Date.now(), Date.now());
    assert.equal(await result, true);
    w.stop();
  });
});

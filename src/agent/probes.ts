/**
 * Container probes, after the kubelet's prober and probe workers (pkg/kubelet/prober): one worker
 * per probe of a running container, firing every periodSeconds after initialDelaySeconds, counting
 * consecutive successes and failures against the thresholds, and telling the pod worker only when
 * the result flips. Startup probes hold back liveness and readiness until they succeed.
 *
 * Probe actions: exec (in the container, through the runtime), httpGet (from the node to the pod
 * IP, as upstream: 2xx and 3xx succeed) and tcpSocket (a connect). gRPC probes are refused with a
 * clear message (not built yet).
 */
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface ProbeOutcome {
  success: boolean;
  /** What the Unhealthy event says after "<Kind> probe failed: ". */
  output: string;
}

export interface ProbeTarget {
  podIP: string;
  /** The container's ports by name, for named httpGet/tcpSocket ports. */
  ports: Map<string, number>;
  exec(cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string; timedOut: boolean }>;
}

/** The thresholds and timing of a probe, with upstream's defaults. */
export function probeTiming(probe: Record<string, any>, kind: ProbeKind) {
  const int = (v: unknown, d: number) => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : d);
  return {
    initialDelayMs: int(probe.initialDelaySeconds, 0) * 1000,
    periodMs: Math.max(1, int(probe.periodSeconds, 10)) * 1000,
    timeoutMs: Math.max(1, int(probe.timeoutSeconds, 1)) * 1000,
    // Liveness and startup need 1 success; readiness' successThreshold is the user's.
    successThreshold: kind === 'readiness' ? Math.max(1, int(probe.successThreshold, 1)) : 1,
    failureThreshold: Math.max(1, int(probe.failureThreshold, 3)),
  };
}

/** Runs one probe action once. */
export async function runProbe(probe: Record<string, any>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  if (probe.exec) {
    const cmd = Array.isArray(probe.exec.command) ? probe.exec.command.map(String) : [];
    const r = await target.exec(cmd, timeoutMs);
    if (r.timedOut) return { success: false, output: `command ${JSON.stringify(cmd.join(' '))} timed out` };
    return { success: r.exitCode === 0, output: r.output.trim() };
  }
  if (probe.httpGet) return httpProbe(probe.httpGet, target, timeoutMs);
  if (probe.tcpSocket) return tcpProbe(probe.tcpSocket, target, timeoutMs);
  if (probe.grpc) return { success: false, output: 'gRPC probes are not supported by skiff yet' };
  return { success: false, output: 'probe has no action' };
}

function resolvePort(port: unknown, target: ProbeTarget): number | string {
  if (typeof port === 'number') return port;
  const s = String(port ?? '');
  if (/^\d+$/.test(s)) return Number(s);
  return target.ports.get(s) ?? s;
}

function httpProbe(h: Record<string, any>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(h.port, target);
  const host = typeof h.host === 'string' && h.host ? h.host : target.podIP;
  const scheme = String(h.scheme ?? 'HTTP').toUpperCase();
  const path = typeof h.path === 'string' && h.path ? (h.path.startsWith('/') ? h.path : `/${h.path}`) : '/';
  if (typeof port !== 'number') return Promise.resolve({ success: false, output: `unknown port ${JSON.stringify(port)}` });
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
  for (const hd of Array.isArray(h.httpHeaders) ? h.httpHeaders : []) if (hd?.name) headers[String(hd.name)] = String(hd.value ?? '');
  const url = `${scheme.toLowerCase()}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  return new Promise((resolve) => {
    const done = (o: ProbeOutcome) => {
      clearTimeout(timer);
      resolve(o);
    };
    const req = (scheme === 'HTTPS' ? httpsRequest : httpRequest)(url, { method: 'GET', headers, rejectUnauthorized: false }, (res) => {
      const code = res.statusCode ?? 0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 10 * 1024) body += c;
      });
      res.on('end', () => {
        if (code >= 200 && code < 400) done({ success: true, output: '' });
        else done({ success: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', (err) => done({ success: false, output: `Get "${url}": ${err.message}` }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ success: false, output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    }, timeoutMs);
    req.on('error', (err) => done({ success: false, output: `Get "${url}": ${dialMessage(host, port, err)}` }));
    req.end();
  });
}

function tcpProbe(t: Record<string, any>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(t.port, target);
  const host = typeof t.host === 'string' && t.host ? t.host : target.podIP;
  if (typeof port !== 'number') return Promise.resolve({ success: false, output: `unknown port ${JSON.stringify(port)}` });
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ success: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ success: true, output: '' });
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      resolve({ success: false, output: dialMessage(host, port, err) });
    });
  });
}

/** Go's net error text for the common cases ("dial tcp 10.0.0.2:80: connect: connection refused"). */
function dialMessage(host: string, port: number, err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const what = code === 'ECONNREFUSED' ? 'connection refused' : code === 'EHOSTUNREACH' ? 'no route to host' : err.message;
  return `dial tcp ${host}:${port}: connect: ${what}`;
}

/**
 * One probe of one running container. `onChange` hears the result when it flips (the first result
 * counts as a flip from the initial state: readiness starts false, liveness and startup start true
 * for liveness' sake and false for startup).
 */
export class ProbeWorker {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private result: boolean;
  private readonly timing: ReturnType<typeof probeTiming>;

  constructor(
    private readonly probe: Record<string, any>,
    readonly kind: ProbeKind,
    private readonly target: ProbeTarget,
    /** Told when the result flips; a failure carries the last output. */
    private readonly onChange: (success: boolean, output: string) => void,
    /** Told after each failed attempt (upstream's Unhealthy event fires per failure). */
    private readonly onFailure: (output: string) => void,
    /** Whether to probe now (startup gating). */
    private readonly enabled: () => boolean = () => true,
  ) {
    this.timing = probeTiming(probe, kind);
    this.result = kind === 'liveness';
  }

  start(startedAt: number, now: number): void {
    const delay = Math.max(0, startedAt + this.timing.initialDelayMs - now);
    this.schedule(delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.enabled()) {
      let outcome: ProbeOutcome;
      try {
        outcome = await runProbe(this.probe, this.target, this.timing.timeoutMs);
      } catch (err) {
        outcome = { success: false, output: (err as Error).message };
      }
      if (this.stopped) return;
      this.record(outcome);
      // A startup probe that succeeded has done its job.
      if (this.kind === 'startup' && this.result) return;
    }
    this.schedule(this.timing.periodMs);
  }

  private record(o: ProbeOutcome): void {
    if (o.success) {
      this.failures = 0;
      this.successes++;
      if (!this.result && this.successes >= this.timing.successThreshold) {
        this.result = true;
        this.onChange(true, '');
      }
      return;
    }
    this.successes = 0;
    this.failures++;
    this.onFailure(o.output);
    if (this.failures < this.timing.failureThreshold) return;
    if (this.kind === 'readiness') {
      if (!this.result) return;
      this.result = false;
      this.onChange(false, o.output);
      return;
    }
    // Liveness and startup failures act each time the threshold is reached (the container is killed).
    this.failures = 0;
    this.result = false;
    this.onChange(false, o.output);
  }
}

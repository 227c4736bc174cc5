/**
 * What a simulated agent is told, with its defaults: how many nodes, what they look like, and how
 * the simulated workload behaves (how long containers take to start, how long jobs run). The
 * annotation names a pod uses to steer its own simulation live here too.
 */

import { ipToNumber, numberToIp } from '../../api/ipv4.js';

/** A delay in milliseconds: fixed, or drawn uniformly from [min, max] each time. */
export type Delay = number | { min: number; max: number };

export interface SimulatedAgentOptions {
  /** How many nodes this agent runs. */
  count: number;
  /** Node names are `<namePrefix><n>` (default "sim-"). */
  namePrefix?: string;
  /** The first n (default 0), so several agents can run disjoint node ranges. */
  startIndex?: number;
  /** Capacity (and allocatable) of each node. */
  cpu?: string;
  memory?: string;
  pods?: number;
  ephemeralStorage?: string;
  /** Extra labels on every node. */
  labels?: Record<string, string>;
  /** Spread round-robin over the nodes as topology.kubernetes.io/zone. */
  zones?: string[];
  /** node.kubernetes.io/instance-type of every node. */
  instanceType?: string;
  /** Node n gets the n-th /24 counting from this network (default 10.244.0.0/16). */
  podCidrBase?: string;
  leaseDurationSeconds?: number;
  /** How often each node renews its Lease (default 10,000; spread over nodes, with jitter). */
  renewIntervalMs?: number;
  /** How often a node's status is compared with what it should be (kubelet's nodeStatusUpdateFrequency, 10 s). */
  nodeStatusUpdateFrequencyMs?: number;
  /** Unchanged status is still written this often (kubelet's nodeStatusReportFrequency, 5 min). */
  nodeStatusReportFrequencyMs?: number;
  /** ContainerCreating → Running (default 0–50 ms). */
  startupMs?: Delay;
  /** How long a container of a Never/OnFailure pod runs before it exits (default 1,000). */
  runDurationMs?: Delay;
  /** CrashLoopBackOff: the first delay and its cap (kubelet: 10 s doubling to 5 min). */
  crashLoopBackOffMs?: { initial: number; max: number };
  /** Pod status writes and deletes in flight at once, across all nodes (default 48). */
  maxInFlightWrites?: number;
  /** Event writes in flight at once, across all nodes (default 16). */
  maxInFlightEvents?: number;
  /** Node, lease and registration writes in flight at once (default 16). */
  maxInFlightNodeWrites?: number;
  /** Whether the kubelet's pod events are recorded (default true; benchmarks may turn them off). */
  events?: boolean;
  /** Milliseconds since the epoch, for timestamps. Timers still run on the real clock. */
  now?: () => number;
  log?: (message: string) => void;
}

export interface SimulatedAgentConfig {
  count: number;
  namePrefix: string;
  startIndex: number;
  cpu: string;
  memory: string;
  pods: number;
  ephemeralStorage: string;
  labels: Record<string, string>;
  zones: string[];
  instanceType: string | undefined;
  podCidrBase: string;
  leaseDurationSeconds: number;
  renewIntervalMs: number;
  nodeStatusUpdateFrequencyMs: number;
  nodeStatusReportFrequencyMs: number;
  startupMs: Delay;
  runDurationMs: Delay;
  crashLoopBackOffMs: { initial: number; max: number };
  maxInFlightWrites: number;
  maxInFlightEvents: number;
  maxInFlightNodeWrites: number;
  events: boolean;
  now: () => number;
  log: (message: string) => void;
}

/** How long a container runs (ms); a number, or absent for the workload's default. */
export const ANNOTATION_RUN_MS = 'skiff.dev/simulated-run-ms';
/** The exit code a container ends with (default 0). */
export const ANNOTATION_EXIT_CODE = 'skiff.dev/simulated-exit-code';
/** "false" keeps running containers unready (as a failing readiness probe would). */
export const ANNOTATION_READY = 'skiff.dev/simulated-ready';
/** On every node this agent registers. */
export const LABEL_SIMULATED = 'skiff.dev/simulated';

export const KUBELET_VERSION = 'v1.30.0-skiff.1';
export const RUNTIME_VERSION = 'simulated://1.0';
export const OS_IMAGE = 'skiff simulated node';
export const KUBELET_PORT = 10250;

export function resolveConfig(opts: SimulatedAgentOptions): SimulatedAgentConfig {
  const count = Math.trunc(opts.count);
  if (!Number.isFinite(count) || count < 0) throw new Error(`simulated agent: count must be a non-negative integer, got ${opts.count}`);
  const startIndex = Math.trunc(opts.startIndex ?? 0);
  if (!Number.isFinite(startIndex) || startIndex < 0) throw new Error(`simulated agent: startIndex must be a non-negative integer, got ${opts.startIndex}`);
  const cfg: SimulatedAgentConfig = {
    count,
    namePrefix: opts.namePrefix ?? 'sim-',
    startIndex,
    cpu: opts.cpu ?? '8',
    memory: opts.memory ?? '32Gi',
    pods: opts.pods ?? 110,
    ephemeralStorage: opts.ephemeralStorage ?? '100Gi',
    labels: { ...opts.labels },
    zones: [...(opts.zones ?? [])],
    instanceType: opts.instanceType,
    podCidrBase: opts.podCidrBase ?? '10.244.0.0/16',
    leaseDurationSeconds: opts.leaseDurationSeconds ?? 40,
    renewIntervalMs: positive(opts.renewIntervalMs, 10_000, 'renewIntervalMs'),
    nodeStatusUpdateFrequencyMs: positive(opts.nodeStatusUpdateFrequencyMs, 10_000, 'nodeStatusUpdateFrequencyMs'),
    nodeStatusReportFrequencyMs: positive(opts.nodeStatusReportFrequencyMs, 5 * 60_000, 'nodeStatusReportFrequencyMs'),
    startupMs: opts.startupMs ?? { min: 0, max: 50 },
    runDurationMs: opts.runDurationMs ?? 1000,
    crashLoopBackOffMs: opts.crashLoopBackOffMs ?? { initial: 10_000, max: 300_000 },
    maxInFlightWrites: positive(opts.maxInFlightWrites, 48, 'maxInFlightWrites'),
    maxInFlightEvents: positive(opts.maxInFlightEvents, 16, 'maxInFlightEvents'),
    maxInFlightNodeWrites: positive(opts.maxInFlightNodeWrites, 16, 'maxInFlightNodeWrites'),
    events: opts.events ?? true,
    now: opts.now ?? Date.now,
    log: opts.log ?? ((m) => console.error(`simulated agent: ${m}`)),
  };
  // Fail at construction rather than half-way through registering thousands of nodes.
  podCidrFor(cfg.podCidrBase, startIndex + Math.max(count, 1) - 1);
  return cfg;
}

function positive(v: number | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`simulated agent: ${what} must be a positive number, got ${v}`);
  return v;
}

export function nodeName(cfg: SimulatedAgentConfig, i: number): string {
  return `${cfg.namePrefix}${cfg.startIndex + i}`;
}

/** Draws one delay. */
export function sample(d: Delay, random: () => number = Math.random): number {
  if (typeof d === 'number') return Math.max(0, d);
  const lo = Math.max(0, Math.min(d.min, d.max));
  const hi = Math.max(0, d.max, d.min);
  return lo + Math.floor(random() * (hi - lo + 1));
}

// ---- addresses ----

/**
 * The /24 of node index `n`: the n-th /24 counting from the base network. Past the base's own size
 * (a /16 holds 256 of them) the count carries on into the following addresses, because 5,000
 * simulated nodes need more room than the usual cluster CIDR and nothing routes these addresses.
 */
export function podCidrFor(base: string, n: number): string {
  const [addr, bitsText] = base.split('/');
  const ip = ipToNumber(addr ?? '');
  const bits = Number(bitsText);
  if (ip === undefined || !Number.isInteger(bits) || bits < 0 || bits > 24) {
    throw new Error(`simulated agent: podCidrBase must be an IPv4 CIDR no narrower than /24, got ${JSON.stringify(base)}`);
  }
  const network = bits === 0 ? 0 : ip - (ip % 2 ** (32 - bits));
  const start = network + n * 256;
  if (start + 255 > 0xffffffff) throw new Error(`simulated agent: node ${n} does not fit above ${base}`);
  return `${numberToIp(start)}/24`;
}

/**
 * The InternalIP of node index `n`, in 10.10.0.0/16 as a loopback-style fake range: addresses a
 * simulated node can report without pretending to be reachable.
 */
export function nodeInternalIP(n: number): string {
  const k = (n % 65534) + 1;
  return `10.10.${k >> 8}.${k & 255}`;
}

/** Flag parsing shared by the `skiff` commands: errors that print usage, durations, booleans, node shapes. */
import type { SimulatedAgentOptions } from '../agent/simulated/config.js';
import { GO_DURATION_RE, goDurationMs } from '../api/go-duration.js';

export class UsageError extends Error {}

/** A duration flag in milliseconds: `15s`, `1m`, `500ms`, or a bare number of seconds. */
export function durationMs(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  // Go's durations ("1m30s", as kube flags take them), and a bare number as seconds.
  if (GO_DURATION_RE.test(t) && !t.startsWith('-')) return goDurationMs(t);
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  throw new UsageError(`${flag} must be a duration like 15s or 500ms, not ${v}`);
}

export function parseBool(flag: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`${flag} must be true or false, not ${v}`);
}

export function parseCount(flag: string, v: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, not ${v}`);
  return n;
}

/** The flags that shape simulated nodes, for `skiff up` and `skiff agent --simulated`. */
export const SIMULATED_NODE_FLAGS = {
  'sim-node-cpu': { type: 'string' },
  'sim-node-memory': { type: 'string' },
  'sim-node-pods': { type: 'string' },
  'sim-zones': { type: 'string' },
  'sim-instance-type': { type: 'string' },
  'sim-labels': { type: 'string' },
  'sim-name-prefix': { type: 'string' },
  'sim-start-index': { type: 'string' },
  'sim-run-duration': { type: 'string' },
  'sim-heartbeat-interval': { type: 'string' },
} as const;

export const SIMULATED_NODE_USAGE = `  --sim-node-cpu Q         cpu of each simulated node (default 8)
  --sim-node-memory Q      memory of each simulated node (default 32Gi)
  --sim-node-pods N        pods each simulated node takes (default 110)
  --sim-zones A,B,...      spread simulated nodes over these zones (topology.kubernetes.io/zone)
  --sim-instance-type T    node.kubernetes.io/instance-type of simulated nodes
  --sim-labels K=V,...     extra labels on simulated nodes
  --sim-name-prefix P      simulated node names are P<n> (default sim-)
  --sim-start-index N      the first n (default 0)
  --sim-run-duration D     how long a pod that exits (restartPolicy Never/OnFailure) runs (default 1s)
  --sim-heartbeat-interval D   how often simulated nodes renew their Leases (default 10s, as the kubelet)
`;

export function simulatedNodeOptions(count: number, v: Partial<Record<keyof typeof SIMULATED_NODE_FLAGS, string>>): SimulatedAgentOptions {
  const labels: Record<string, string> = {};
  for (const pair of v['sim-labels']?.split(',').filter(Boolean) ?? []) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new UsageError(`--sim-labels takes key=value pairs, not ${pair}`);
    labels[pair.slice(0, i)] = pair.slice(i + 1);
  }
  const opts: SimulatedAgentOptions = { count, labels };
  if (v['sim-node-cpu']) opts.cpu = v['sim-node-cpu'];
  if (v['sim-node-memory']) opts.memory = v['sim-node-memory'];
  if (v['sim-node-pods']) opts.pods = parseCount('--sim-node-pods', v['sim-node-pods'], 1);
  if (v['sim-zones']) opts.zones = v['sim-zones'].split(',').map((z) => z.trim()).filter(Boolean);
  if (v['sim-instance-type']) opts.instanceType = v['sim-instance-type'];
  if (v['sim-name-prefix']) opts.namePrefix = v['sim-name-prefix'];
  if (v['sim-start-index']) opts.startIndex = parseCount('--sim-start-index', v['sim-start-index']);
  const run = durationMs('--sim-run-duration', v['sim-run-duration']);
  if (run !== undefined) opts.runDurationMs = run;
  const heartbeat = durationMs('--sim-heartbeat-interval', v['sim-heartbeat-interval']);
  if (heartbeat !== undefined) opts.renewIntervalMs = heartbeat;
  return opts;
}

/**
 * A pod's status as the kubelet would report it, computed from what the pod worker knows of its
 * containers, after upstream's kubelet (generateAPIPodStatus, getPhase, the status manager's
 * condition merging) and pkg/kubelet/status/generate.go, in v1.30:
 *
 * - conditions: those the kubelet does not own first, as found; then PodReadyToStartContainers,
 *   Initialized, Ready, ContainersReady and PodScheduled, each keeping its lastTransitionTime while
 *   its status does not change;
 * - phase by upstream's getPhase rules (init containers, restart policies, restartable init
 *   containers), and once the pod is terminal (killed, or finished for good) never Pending/Running;
 * - container statuses with state, lastState, ready, started, restartCount, image, imageID, containerID.
 */
import type { KubeObject } from '../../api/types.js';
import { computeQOS } from '../../api/validation/pod.js';
import { rfc3339 } from '../../controllers/pods.js';

/** Init containers run to completion in order; sidecars are restartable init containers. */
export type ContainerKind = 'init' | 'sidecar' | 'regular';

export interface TerminatedState {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt?: number;
  finishedAt: number;
  id?: string;
}

/** What the pod worker knows of one container of the spec. */
export interface ContainerRecord {
  name: string;
  image: string;
  kind: ContainerKind;
  state: 'waiting' | 'running' | 'terminated';
  waiting?: { reason: string; message?: string };
  /** The current (or last) instance's ID. */
  id?: string;
  imageRef?: string;
  startedAt?: number;
  terminated?: TerminatedState;
  last?: TerminatedState;
  restartCount: number;
  /** Probe results of a running container (the real agent's); absent: the pod-wide `readiness` decides. */
  ready?: boolean;
  started?: boolean;
}

export interface PodStatusInput {
  pod: KubeObject;
  hostIP: string;
  podIP?: string;
  sandboxReady: boolean;
  startTime: number;
  init: ContainerRecord[];
  regular: ContainerRecord[];
  /** The pod is done: killed, or finished with nothing left to restart. */
  terminal: boolean;
  /** Running containers report ready (the pod's readiness annotation). */
  readiness: boolean;
  now: number;
}

const KUBELET_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

function containerStatus(r: ContainerRecord, readiness: boolean): Record<string, unknown> {
  let state: Record<string, unknown>;
  let ready = false;
  let started = false;
  if (r.state === 'running') {
    state = { running: { startedAt: rfc3339(r.startedAt ?? 0) } };
    started = r.started ?? true;
    ready = r.kind !== 'init' && (r.ready ?? readiness);
  } else if (r.state === 'terminated' && r.terminated) {
    state = { terminated: terminatedJson(r.terminated) };
    // A regular init container that succeeded counts as ready: it did its job.
    ready = r.kind === 'init' && r.terminated.exitCode === 0;
  } else {
    state = { waiting: r.waiting?.message ? { reason: r.waiting.reason, message: r.waiting.message } : { reason: r.waiting?.reason ?? 'ContainerCreating' } };
  }
  const out: Record<string, unknown> = {
    name: r.name,
    state,
    lastState: r.last ? { terminated: terminatedJson(r.last) } : {},
    ready,
    restartCount: r.restartCount,
    image: r.image,
    imageID: r.imageRef ?? '',
  };
  if (r.id) out.containerID = r.id;
  out.started = started;
  return out;
}

function terminatedJson(t: TerminatedState): Record<string, unknown> {
  const out: Record<string, unknown> = { exitCode: t.exitCode, reason: t.reason };
  if (t.message) out.message = t.message;
  out.startedAt = t.startedAt === undefined ? null : rfc3339(t.startedAt);
  out.finishedAt = rfc3339(t.finishedAt);
  if (t.id) out.containerID = t.id;
  return out;
}

/** Upstream's getPhase (kubelet_pods.go), over the worker's records. */
export function podPhase(pod: KubeObject, init: ContainerRecord[], regular: ContainerRecord[], terminal: boolean): string {
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  let pendingInitialization = 0;
  let failedInitialization = 0;
  for (const r of init) {
    if (r.kind === 'sidecar') continue;
    if (r.state === 'running') pendingInitialization++;
    else if (r.state === 'terminated') {
      if ((r.terminated?.exitCode ?? 0) !== 0) failedInitialization++;
    } else if (r.last) {
      if (r.last.exitCode !== 0) failedInitialization++;
    } else pendingInitialization++;
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const r of init) {
    if (r.kind !== 'sidecar') continue;
    if (r.state === 'running') running++;
    else if (r.state === 'waiting' && !r.last) {
      pendingInitialization++;
      waiting++;
    }
  }
  for (const r of regular) {
    if (r.state === 'running') running++;
    else if (r.state === 'terminated') {
      stopped++;
      if (r.terminated?.exitCode === 0) succeeded++;
    } else if (r.last) stopped++;
    else waiting++;
  }
  if (failedInitialization > 0 && restartPolicy === 'Never') return 'Failed';
  if ((pendingInitialization > 0 && !anyRegularStarted(regular)) || waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (terminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** Upstream's HasAnyRegularContainerStarted: one is running or has terminated (a crash-looping one waits). */
function anyRegularStarted(regular: ContainerRecord[]): boolean {
  return regular.some((r) => r.state !== 'waiting');
}

export function isTerminalPhase(phase: unknown): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** The status fields the kubelet owns, as it would write them now. */
export function generatePodStatus(input: PodStatusInput): Record<string, unknown> {
  const { pod, init, regular, readiness } = input;
  let phase = podPhase(pod, init, regular, input.terminal);
  // The status manager's TerminatePod: a pod that is over is never left Pending or Running.
  if (input.terminal && !isTerminalPhase(phase)) phase = 'Failed';
  const initStatuses = init.map((r) => containerStatus(r, readiness));
  const statuses = regular.map((r) => containerStatus(r, readiness));

  const old = (Array.isArray(pod.status?.conditions) ? pod.status.conditions : []) as Record<string, any>[];
  const conditions: Condition[] = [];
  for (const c of old) if (c && !KUBELET_CONDITIONS.has(c.type)) conditions.push(c as Condition);
  const make = (type: string, status: Condition['status'], reason?: string, message?: string): Condition => {
    const prior = old.find((c) => c?.type === type);
    const at = prior && prior.status === status && typeof prior.lastTransitionTime === 'string' ? prior.lastTransitionTime : rfc3339(input.now);
    const c: Condition = { type, status, lastProbeTime: null, lastTransitionTime: at };
    if (reason) c.reason = reason;
    if (message) c.message = message;
    return c;
  };

  conditions.push(make('PodReadyToStartContainers', input.sandboxReady ? 'True' : 'False'));
  const initialized = initializedCondition(init, regular, phase);
  conditions.push(make('Initialized', initialized.status, initialized.reason, initialized.message));
  const containersReady = containersReadyCondition(init, regular, phase, readiness);
  const ready = readyCondition(pod, containersReady, old);
  conditions.push(make('Ready', ready.status, ready.reason, ready.message));
  conditions.push(make('ContainersReady', containersReady.status, containersReady.reason, containersReady.message));
  const scheduled = old.find((c) => c?.type === 'PodScheduled');
  conditions.push(scheduled?.status === 'True' ? (scheduled as Condition) : make('PodScheduled', 'True'));

  const status: Record<string, unknown> = {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
  };
  // The kubelet keeps a pod's addresses after its sandbox is gone.
  const podIP = input.podIP ?? (typeof pod.status?.podIP === 'string' && pod.status.podIP ? pod.status.podIP : undefined);
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  }
  status.startTime = typeof pod.status?.startTime === 'string' && pod.status.startTime ? pod.status.startTime : rfc3339(input.startTime);
  if (init.length > 0) status.initContainerStatuses = initStatuses;
  status.containerStatuses = statuses;
  status.qosClass = typeof pod.status?.qosClass === 'string' && pod.status.qosClass ? pod.status.qosClass : computeQOS(pod.spec ?? {});
  return status;
}

/** The fields of `status` that generatePodStatus writes, for comparing with what is stored. */
export function ownedStatus(status: Record<string, any> | undefined, withInit: boolean): Record<string, unknown> {
  const s = status ?? {};
  const out: Record<string, unknown> = {
    phase: s.phase,
    conditions: s.conditions,
    hostIP: s.hostIP,
    hostIPs: s.hostIPs,
    podIP: s.podIP,
    podIPs: s.podIPs,
    startTime: s.startTime,
    containerStatuses: s.containerStatuses,
    qosClass: s.qosClass,
  };
  if (withInit) out.initContainerStatuses = s.initContainerStatuses;
  return out;
}

type Cond = { status: 'True' | 'False'; reason?: string; message?: string };

/** Go's %s of a []string: "[a b]". */
const goList = (names: string[]) => `[${names.join(' ')}]`;

function initializedCondition(init: ContainerRecord[], regular: ContainerRecord[], phase: string): Cond {
  if (phase === 'Succeeded') return { status: 'True', reason: 'PodCompleted' };
  if (anyRegularStarted(regular)) return { status: 'True' };
  const incomplete = init
    .filter((r) => (r.kind === 'sidecar' ? r.state !== 'running' : !(r.state === 'terminated' && r.terminated?.exitCode === 0)))
    .map((r) => r.name);
  if (incomplete.length > 0) return { status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: ${goList(incomplete)}` };
  return { status: 'True' };
}

function containersReadyCondition(init: ContainerRecord[], regular: ContainerRecord[], phase: string, readiness: boolean): Cond {
  if (phase === 'Succeeded') return { status: 'False', reason: 'PodCompleted' };
  const unready: string[] = [];
  const isReady = (r: ContainerRecord) => r.state === 'running' && (r.ready ?? readiness);
  for (const r of init) if (r.kind === 'sidecar' && !isReady(r)) unready.push(r.name);
  for (const r of regular) if (!isReady(r)) unready.push(r.name);
  if (unready.length > 0) return { status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: ${goList(unready)}` };
  return { status: 'True' };
}

function readyCondition(pod: KubeObject, containersReady: Cond, conditions: Record<string, any>[]): Cond {
  if (containersReady.status !== 'True') return containersReady;
  const unready: string[] = [];
  for (const gate of (pod.spec?.readinessGates ?? []) as { conditionType?: string }[]) {
    const type = gate?.conditionType ?? '';
    const c = conditions.find((x) => x?.type === type);
    if (!c) unready.push(`corresponding condition of pod readiness gate "${type}" does not exist.`);
    else if (c.status !== 'True') unready.push(`the status of pod readiness gate "${type}" is not "True", but ${c.status}`);
  }
  if (unready.length > 0) return { status: 'False', reason: 'ReadinessGatesNotReady', message: unready.join(', ') };
  return { status: 'True' };
}

/** A record of each container in `spec`, fresh (never started). */
export function freshRecords(pod: KubeObject): { init: ContainerRecord[]; regular: ContainerRecord[] } {
  const spec = pod.spec ?? {};
  const initSpecs = (Array.isArray(spec.initContainers) ? spec.initContainers : []) as Record<string, any>[];
  const specs = (Array.isArray(spec.containers) ? spec.containers : []) as Record<string, any>[];
  // Upstream's default waiting reason: PodInitializing for every container of a pod with init containers.
  const reason = initSpecs.length > 0 ? 'PodInitializing' : 'ContainerCreating';
  const rec = (c: Record<string, any>, kind: ContainerKind): ContainerRecord => ({
    name: String(c?.name ?? ''),
    image: String(c?.image ?? ''),
    kind,
    state: 'waiting',
    waiting: { reason },
    restartCount: 0,
  });
  return {
    init: initSpecs.map((c) => rec(c, c?.restartPolicy === 'Always' ? 'sidecar' : 'init')),
    regular: specs.map((c) => rec(c, 'regular')),
  };
}

/**
 * Records rebuilt from a stored status, for a pod a previous agent ran: what a restarting kubelet
 * learns from its runtime. Containers without a status start fresh.
 */
export function recordsFromStatus(pod: KubeObject): { init: ContainerRecord[]; regular: ContainerRecord[] } {
  const fresh = freshRecords(pod);
  const restore = (records: ContainerRecord[], statuses: unknown) => {
    const list = (Array.isArray(statuses) ? statuses : []) as Record<string, any>[];
    for (const r of records) {
      const s = list.find((x) => x?.name === r.name);
      if (!s) continue;
      r.restartCount = Number.isInteger(s.restartCount) ? s.restartCount : 0;
      if (typeof s.containerID === 'string' && s.containerID) r.id = s.containerID;
      if (typeof s.imageID === 'string' && s.imageID) r.imageRef = s.imageID;
      const last = s.lastState?.terminated;
      if (last) r.last = terminatedFrom(last);
      const st = s.state ?? {};
      if (st.running) {
        r.state = 'running';
        r.startedAt = parseTime(st.running.startedAt) ?? 0;
        r.waiting = undefined;
      } else if (st.terminated) {
        r.state = 'terminated';
        r.terminated = terminatedFrom(st.terminated);
        r.startedAt = r.terminated.startedAt;
        r.waiting = undefined;
      } else if (st.waiting) {
        r.waiting = { reason: String(st.waiting.reason ?? 'ContainerCreating'), message: st.waiting.message ? String(st.waiting.message) : undefined };
      }
    }
  };
  restore(fresh.init, pod.status?.initContainerStatuses);
  restore(fresh.regular, pod.status?.containerStatuses);
  return fresh;
}

function terminatedFrom(t: Record<string, any>): TerminatedState {
  return {
    exitCode: Number.isInteger(t.exitCode) ? t.exitCode : 0,
    reason: String(t.reason ?? ''),
    message: t.message ? String(t.message) : undefined,
    startedAt: parseTime(t.startedAt),
    finishedAt: parseTime(t.finishedAt) ?? 0,
    id: typeof t.containerID === 'string' && t.containerID ? t.containerID : undefined,
  };
}

export function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * What the streaming server needs from the rest of the agent, and nothing more: where a pod's
 * container is (its runtime ID, its log files, its pod IP) and a runtime that can exec and attach.
 * The pod worker implements it over its own state; tests implement it over host processes.
 */
import type { ContainerRuntime } from '../cri.js';

export interface ResolvedPod {
  podUid: string;
  /** Where port-forward connects (the pod IP; ignored for hostNetwork pods, which use loopback). */
  podIP: string;
  hostNetwork: boolean;
}

export interface ResolvedContainer extends ResolvedPod {
  /** The runtime's ID of the container's current (or last) run. */
  containerId: string;
  containerName: string;
  /** The current run's CRI log file. */
  logPath: string;
  /** The previous run's log file (`kubectl logs --previous`), when there was one. */
  previousLogPath?: string;
  /**
   * Resolves once the current run is no longer running (at once when it already is not): a
   * `logs -f` ends there, after reading what the container wrote.
   */
  waitForExit(): Promise<void>;
}

/** Why a request cannot be served, as the kubelet answers it (the API server passes it on). */
export interface StreamingError {
  /** HTTP status: 400 bad request, 404 no such pod or container, 500, 503. */
  code: number;
  message: string;
}

export function isStreamingError(v: unknown): v is StreamingError {
  return typeof v === 'object' && v !== null && 'code' in v && 'message' in v && !('podUid' in v);
}

type MaybePromise<T> = T | Promise<T>;

export interface StreamingBackend {
  resolvePod(namespace: string, pod: string): MaybePromise<ResolvedPod | StreamingError>;
  resolveContainer(namespace: string, pod: string, container: string): MaybePromise<ResolvedContainer | StreamingError>;
  runtime: Pick<ContainerRuntime, 'exec' | 'attach'>;
}

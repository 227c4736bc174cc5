/**
 * What the controller manager hands every controller: the client, the shared informers and an event
 * recorder per component. A controller is constructed from this alone, so `skiff up`, `skiff server`
 * and tests build controllers the same way.
 */
import type { Client } from '../client/interface.js';
import type { SharedInformers } from '../client/shared-informers.js';
import { EventRecorder, type EventRecorderOptions } from '../client/events.js';

export interface ControllerContext {
  client: Client;
  informers: SharedInformers;
  /** The recorder for `component` (one per component, shared). */
  recorder(component: string): EventRecorder;
  /** Milliseconds since the epoch; tests may pin it. */
  now(): number;
  log?: (message: string) => void;
}

export function newControllerContext(client: Client, informers: SharedInformers, opts: EventRecorderOptions & { log?: (m: string) => void } = {}): ControllerContext {
  const recorders = new Map<string, EventRecorder>();
  const now = opts.now ?? Date.now;
  return {
    client,
    informers,
    now,
    log: opts.log,
    recorder(component) {
      let r = recorders.get(component);
      if (!r) recorders.set(component, (r = new EventRecorder(client, { component }, opts)));
      return r;
    },
  };
}

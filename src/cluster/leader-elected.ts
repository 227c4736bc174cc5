/**
 * A component that runs only while this process holds its Lease, as kube-controller-manager and
 * kube-scheduler run under `--leader-elect`: several `skiff server`s on one etcd run exactly one
 * active controller manager and one scheduler, and a survivor takes over when the leader dies.
 * Leadership changes are applied in order, so a quick lose-then-win never runs two copies.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { LeaderElector, type LeaderElectorOptions } from '../client/leader-election.js';
import type { Client } from '../client/interface.js';
import type { Controller } from '../controllers/manager.js';

export type ElectionTiming = Pick<LeaderElectorOptions, 'leaseDurationSeconds' | 'renewDeadlineSeconds' | 'retryPeriodSeconds'>;

export class LeaderElected {
  private readonly elector: LeaderElector;
  private current: Controller | undefined;
  private transitions: Promise<void> = Promise.resolve();

  constructor(
    client: Client,
    /** The Lease's name in kube-system (upstream: kube-controller-manager, kube-scheduler). */
    readonly leaseName: string,
    private readonly build: () => Controller,
    timing: ElectionTiming = {},
    private readonly log: (m: string) => void = (m) => console.log(m),
    readonly identity = `${hostname()}_${randomUUID()}`,
  ) {
    this.elector = new LeaderElector({
      client,
      namespace: 'kube-system',
      name: leaseName,
      identity,
      ...timing,
      onStartedLeading: () => this.then(async () => {
        this.log(`skiff: ${leaseName}: became leader (${identity})`);
        this.current = this.build();
        await this.current.start();
      }),
      onStoppedLeading: () => this.then(async () => {
        this.log(`skiff: ${leaseName}: stopped leading`);
        const c = this.current;
        this.current = undefined;
        await c?.stop();
      }),
    });
  }

  start(): void {
    this.elector.start();
  }

  isLeader(): boolean {
    return this.elector.isLeader();
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    await this.transitions;
    const c = this.current;
    this.current = undefined;
    await c?.stop();
  }

  private then(step: () => Promise<void>): void {
    this.transitions = this.transitions.then(step).catch((err) => this.log(`skiff: ${this.leaseName}: ${(err as Error).message}`));
  }
}

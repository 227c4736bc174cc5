/**
 * The controller manager, after kube-controller-manager: one shared informer factory and one set
 * of event recorders for every controller, each controller built from the same ControllerContext,
 * started together and stopped together. Which controllers run is a list of upstream's names, so
 * `skiff server --controllers` reads like kube-controller-manager's flag.
 */
import type { Client } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { newControllerContext, type ControllerContext } from './context.js';
import { NamespaceController } from './namespace.js';
import { GarbageCollector } from './garbage-collector.js';
import { ServiceAccountController } from './serviceaccount.js';
import { RootCaPublisher } from './root-ca-publisher.js';
import { EndpointSliceController } from './endpointslice.js';
import { EndpointsController } from './endpoints.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { TaintEvictionController } from './taint-eviction.js';
import { PodGcController } from './pod-gc.js';
import { DaemonSetController } from './daemonset/controller.js';
import { StatefulSetController } from './statefulset/controller.js';
import { JobController } from './job/job-controller.js';
import { ReplicaSetController } from './replicaset.js';
import { DeploymentController } from './deployment/controller.js';
import { CronJobController } from './cronjob/cronjob-controller.js';
import { TtlAfterFinishedController } from './ttl-after-finished.js';
import { DisruptionController } from './disruption.js';
import { NodeIpamController } from './node-ipam.js';
import { ResourceQuotaController } from './resourcequota.js';
import { ServiceAccountTokenController } from './serviceaccount-token.js';
import { BootstrapSigner } from './bootstrap/signer.js';
import { TokenCleaner } from './bootstrap/tokencleaner.js';
import { CsrApprovingController } from './certificates/approver.js';
import { CsrSigningController } from './certificates/signer.js';
import { CsrCleaner } from './certificates/cleaner.js';
import { ClusterRoleAggregationController } from './clusterrole-aggregation.js';

export interface Controller {
  start(): unknown;
  stop(): unknown;
}

export interface ControllerManagerOptions {
  /** The cluster CA, published in every namespace. */
  caCert: string;
  /** The service account signing key (PEM, sa.key); without it the serviceaccount-token controller does nothing. */
  serviceAccountPrivateKey?: string;
  /** The cluster CA's key: csrsigning signs with it (without it csrsigning does not run). */
  caKey?: string;
  /** Controllers to run by name; `*` (the default) is all of them, `-name` turns one off. */
  controllers?: string[];
  /** Per-controller option overrides (tests shorten periods with them). */
  settings?: ControllerSettings;
  log?: (message: string) => void;
  /**
   * The client a controller writes through, by controller name: upstream runs each controller under
   * its own service account (--use-service-account-credentials) so each holds only its own role.
   * Informers stay on the manager's client. Default: the manager's client for every controller.
   */
  clientFor?: (controller: string) => Client;
}

/** Knobs the controllers take, grouped by controller name. */
export interface ControllerSettings {
  [controller: string]: Record<string, unknown> | undefined;
}

type Factory = (ctx: ControllerContext, opts: ControllerManagerOptions) => Controller;

const CONTROLLERS: Record<string, Factory> = {
  namespace: (ctx) => new NamespaceController(ctx.client),
  'garbage-collector': (ctx) => new GarbageCollector(ctx.client),
  serviceaccount: (ctx) => new ServiceAccountController(ctx.client),
  'root-ca-cert-publisher': (ctx, o) => new RootCaPublisher(ctx.client, { caCert: o.caCert }),
  endpointslice: (ctx, o) => new EndpointSliceController(ctx, settings(o, 'endpointslice')),
  endpoint: (ctx, o) => new EndpointsController(ctx, settings(o, 'endpoint')),
  nodeipam: (ctx, o) => new NodeIpamController(ctx, settings(o, 'nodeipam')),
  'node-lifecycle': (ctx, o) => new NodeLifecycleController(ctx, settings(o, 'node-lifecycle')),
  'taint-eviction-controller': (ctx, o) => new TaintEvictionController(ctx, settings(o, 'taint-eviction-controller')),
  podgc: (ctx, o) => new PodGcController(ctx, settings(o, 'podgc')),
  daemonset: (ctx, o) => new DaemonSetController(ctx, settings(o, 'daemonset')),
  statefulset: (ctx, o) => new StatefulSetController(ctx, settings(o, 'statefulset')),
  replicaset: (ctx, o) => new ReplicaSetController(ctx, settings(o, 'replicaset')),
  deployment: (ctx, o) => new DeploymentController(ctx, settings(o, 'deployment')),
  job: (ctx, o) => new JobController(ctx, settings(o, 'job')),
  cronjob: (ctx, o) => new CronJobController(ctx, settings(o, 'cronjob')),
  'ttl-after-finished': (ctx, o) => new TtlAfterFinishedController(ctx, settings(o, 'ttl-after-finished')),
  disruption: (ctx, o) => new DisruptionController(ctx, settings(o, 'disruption')),
  resourcequota: (ctx, o) => new ResourceQuotaController(ctx, settings(o, 'resourcequota')),
  'serviceaccount-token': (ctx, o) =>
    o.serviceAccountPrivateKey
      ? new ServiceAccountTokenController(ctx, { ...settings(o, 'serviceaccount-token'), privateKey: o.serviceAccountPrivateKey, caCert: o.caCert })
      : { start: () => undefined, stop: () => undefined },
  bootstrapsigner: (ctx, o) => new BootstrapSigner(ctx, settings(o, 'bootstrapsigner')),
  tokencleaner: (ctx, o) => new TokenCleaner(ctx, settings(o, 'tokencleaner')),
  csrapproving: (ctx, o) => new CsrApprovingController(ctx, settings(o, 'csrapproving')),
  csrcleaner: (ctx, o) => new CsrCleaner(ctx, settings(o, 'csrcleaner')),
  csrsigning: (ctx, o) => (o.caKey ? new CsrSigningController(ctx, { ...settings(o, 'csrsigning'), ca: { cert: o.caCert, key: o.caKey } }) : { start: () => undefined, stop: () => undefined }),
  'clusterrole-aggregation': (ctx, o) => new ClusterRoleAggregationController(ctx, settings(o, 'clusterrole-aggregation')),
};

function settings<T>(o: ControllerManagerOptions, name: string): T {
  return (o.settings?.[name] ?? {}) as T;
}

export const CONTROLLER_NAMES = Object.keys(CONTROLLERS);

/** The controllers `names` turns on, as kube-controller-manager reads `--controllers`. */
export function enabledControllers(names: string[] = ['*']): string[] {
  const unknown = names.map((n) => n.replace(/^-/, '')).filter((n) => n !== '*' && !(n in CONTROLLERS));
  if (unknown.length > 0) throw new Error(`unknown controller(s): ${unknown.join(', ')}; known: ${CONTROLLER_NAMES.join(', ')}`);
  const all = names.includes('*');
  return CONTROLLER_NAMES.filter((n) => !names.includes(`-${n}`) && (all || names.includes(n)));
}

export class ControllerManager {
  readonly informers: SharedInformers;
  readonly context: ControllerContext;
  private readonly running = new Map<string, Controller>();

  constructor(
    client: Client,
    private readonly opts: ControllerManagerOptions,
  ) {
    this.informers = new SharedInformers(client);
    this.context = newControllerContext(client, this.informers, { log: opts.log });
  }

  /** Builds and starts every enabled controller; resolves once their caches have synced. */
  async start(): Promise<void> {
    for (const name of enabledControllers(this.opts.controllers)) {
      const client = this.opts.clientFor?.(name);
      const ctx = client ? newControllerContext(client, this.informers, { log: this.opts.log }) : this.context;
      this.running.set(name, CONTROLLERS[name](ctx, this.opts));
    }
    this.informers.start();
    await Promise.all([...this.running.values()].map((c) => c.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.running.values()].map((c) => c.stop()));
    this.running.clear();
    this.informers.stop();
  }
}

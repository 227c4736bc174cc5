/**
 * Who each component acts as, after kube-controller-manager's --use-service-account-credentials:
 * every controller runs as its own service account in kube-system, bound by the bootstrap policy
 * to system:controller:<account>, so each holds only its own role. The controller manager's
 * shared informers run as system:kube-controller-manager, the scheduler as system:kube-scheduler.
 */
import type { KubeObject } from '../api/types.js';
import type { UserInfo } from '../apiserver/auth/user.js';
import type { Client, DeleteOptions, ListOptions, PatchType, ResourceRef, WatchEventType, WatchHandle, WatchOptions, WriteOptions } from '../client/interface.js';
import { serviceAccountUsername } from '../apiserver/authz/rbac/authorizer.js';

/** skiff's controller names (kube-controller-manager's --controllers names) → upstream's service account. */
export const CONTROLLER_SERVICE_ACCOUNT: Readonly<Record<string, string>> = {
  namespace: 'namespace-controller',
  'garbage-collector': 'generic-garbage-collector',
  serviceaccount: 'service-account-controller',
  'root-ca-cert-publisher': 'root-ca-cert-publisher',
  endpointslice: 'endpointslice-controller',
  endpoint: 'endpoint-controller',
  // Upstream starts node IPAM, node lifecycle and taint eviction on the node-controller account.
  nodeipam: 'node-controller',
  'node-lifecycle': 'node-controller',
  'taint-eviction-controller': 'node-controller',
  podgc: 'pod-garbage-collector',
  daemonset: 'daemon-set-controller',
  statefulset: 'statefulset-controller',
  replicaset: 'replicaset-controller',
  deployment: 'deployment-controller',
  job: 'job-controller',
  cronjob: 'cronjob-controller',
  'ttl-after-finished': 'ttl-after-finished-controller',
  disruption: 'disruption-controller',
  resourcequota: 'resourcequota-controller',
  'clusterrole-aggregation': 'clusterrole-aggregation-controller',
  bootstrapsigner: 'bootstrap-signer',
  tokencleaner: 'token-cleaner',
  csrapproving: 'certificate-controller',
  csrsigning: 'certificate-controller',
  csrcleaner: 'certificate-controller',
};

/**
 * Controllers upstream runs on the controller manager's own credentials rather than a service
 * account: the token controller mints service account credentials, so it cannot depend on one.
 */
export const ROOT_CREDENTIAL_CONTROLLERS: ReadonlySet<string> = new Set(['serviceaccount-token']);

export const KUBE_CONTROLLER_MANAGER_USER: UserInfo = Object.freeze({ name: 'system:kube-controller-manager', groups: Object.freeze(['system:authenticated']) as string[] });
export const KUBE_SCHEDULER_USER: UserInfo = Object.freeze({ name: 'system:kube-scheduler', groups: Object.freeze(['system:authenticated']) as string[] });

/** What a kube-system service account authenticates as (its token's user). */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return Object.freeze({
    name: serviceAccountUsername(namespace, name),
    groups: Object.freeze(['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated']) as string[],
  });
}

const controllerUsers = new Map<string, UserInfo>();

/** The identity controller `name` acts as; one shared object per account (the authorizer caches by identity). */
export function controllerIdentity(name: string): UserInfo {
  const account = CONTROLLER_SERVICE_ACCOUNT[name];
  if (!account) throw new Error(`no service account known for controller ${JSON.stringify(name)}`);
  let u = controllerUsers.get(account);
  if (!u) controllerUsers.set(account, (u = serviceAccountUser('kube-system', account)));
  return u;
}

/**
 * A controller's client as upstream's controllers have one: lists and watches (what informers do)
 * go through the controller manager's own identity, as upstream's shared informer factory does,
 * and every other call (gets, writes) through the controller's service account.
 */
export class ControllerClient implements Client {
  constructor(
    private readonly informerClient: Client,
    private readonly own: Client,
  ) {}

  get(ref: ResourceRef, namespace: string, name: string) {
    return this.own.get(ref, namespace, name);
  }
  list(ref: ResourceRef, namespace: string, opts?: ListOptions) {
    return this.informerClient.list(ref, namespace, opts);
  }
  create(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    return this.own.create(ref, namespace, obj, opts);
  }
  update(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    return this.own.update(ref, namespace, obj, opts);
  }
  patch(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, opts?: WriteOptions) {
    return this.own.patch(ref, namespace, name, type, patch, opts);
  }
  delete(ref: ResourceRef, namespace: string, name: string, opts?: DeleteOptions) {
    return this.own.delete(ref, namespace, name, opts);
  }
  watch(ref: ResourceRef, namespace: string, opts: WatchOptions, onEvent: (type: WatchEventType, obj: KubeObject) => void): WatchHandle {
    return this.informerClient.watch(ref, namespace, opts, onEvent);
  }
  resources() {
    return this.informerClient.resources();
  }
}

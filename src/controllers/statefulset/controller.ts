/**
 * The StatefulSet controller, after upstream's statefulset controller (kube-controller-manager
 * v1.30): pods `<set>-<ordinal>` with stable hostnames and claims, created in order and each only
 * once its predecessors are Running and Ready (OrderedReady) or all at once (Parallel); scaled down
 * from the highest ordinal, one at a time; failed pods recreated; updates rolled out from the highest
 * ordinal down to the partition (RollingUpdate) or left to deletions (OnDelete); revisions kept as
 * ControllerRevisions; the status kubectl rollout status reads.
 *
 * StatefulSets, pods, ControllerRevisions and PersistentVolumeClaims are read through shared
 * informers. Fixed pod names stand in for expectations: a pod the cache has yet to see is created
 * again only to be refused (409), and the sync retried.
 */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import { labelSelectorFromObject, type LabelPredicate } from '../../api/selectors.js';
import type { Informer } from '../../client/informer.js';
import type { Client, ResourceRef } from '../../client/interface.js';
import type { EventRecorder } from '../../client/events.js';
import type { ControllerContext } from '../context.js';
import { InformerController, type ControllerOptions } from '../informer-controller.js';
import { CONTROLLER_REVISIONS, PODS, STATEFUL_SETS, controllerRefOf, isPodReady, keyOf, newControllerRef } from '../pods.js';
import {
  REVISION_HASH_LABEL,
  applyRevision,
  claimCandidates,
  claimObjects,
  controllerRevisionName,
  equalRevision,
  hashRevisionData,
  indexByController,
  nextRevision,
  recheckOwner,
  revisionDataBytes,
  setRevisionNumber,
  sortRevisions,
  templatePatchOf,
  truncateRevisions,
  goJson,
} from '../history.js';
import {
  claimIsStale,
  claimOwnerReferences,
  claimOwnersMatch,
  claimsFor,
  identityMatches,
  inOrdinalRange,
  isCreated,
  isHealthy,
  isMemberOf,
  isRunningAndAvailable,
  isRunningAndReady,
  isTerminating,
  newVersionedStatefulSetPod,
  ordinalOf,
  podRevision,
  replicasOf,
  scalesClaimsAway,
  startOrdinal,
  storageMatches,
  withIdentity,
  withStorage,
} from './identity.js';

const COMPONENT = 'statefulset-controller';
const API_VERSION = 'apps/v1';
const KIND = 'StatefulSet';
const PERSISTENT_VOLUME_CLAIMS: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumeclaims' };
/** Upstream's MaxBatchSize for Parallel pod management. */
const MAX_BATCH_SIZE = 500;

export type StatefulSetControllerOptions = ControllerOptions;

interface StatefulSetStatus {
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

/** The verb's event, as upstream's recordPodEvent: `create Pod web-0 in StatefulSet web successful`. */
function podEvent(verb: string, pod: KubeObject, set: KubeObject, err?: unknown): { type: 'Normal' | 'Warning'; reason: string; message: string } {
  const title = verb[0].toUpperCase() + verb.slice(1);
  if (err === undefined) return { type: 'Normal', reason: `Successful${title}`, message: `${verb} Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful` };
  return { type: 'Warning', reason: `Failed${title}`, message: `${verb} Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${(err as Error).message ?? String(err)}` };
}

function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason === 'AlreadyExists';
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.code === 404;
}

/** Runs `fn` over `n` items in batches of 1, 2, 4, … (at most MAX_BATCH_SIZE), stopping at the first failing batch. */
async function slowStartBatch(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  for (let batch = Math.min(n, 1); batch > 0; batch = Math.min(2 * batch, n - next, MAX_BATCH_SIZE)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, (_, k) => fn(next + k)));
    next += batch;
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
  }
}

/** OrderedReady: one by one, stopping where `fn` says so; Parallel: all at once, in slow-start batches. */
async function runForAll(pods: KubeObject[], fn: (i: number) => Promise<boolean>, monotonic: boolean): Promise<boolean> {
  if (monotonic) {
    for (let i = 0; i < pods.length; i++) if (await fn(i)) return true;
    return false;
  }
  await slowStartBatch(pods.length, fn);
  return false;
}

export class StatefulSetController extends InformerController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly sets: Informer;
  private readonly pods: Informer;
  private readonly revisions: Informer;
  private readonly claims: Informer;
  private readonly selectors = new WeakMap<KubeObject, LabelPredicate | null>();

  constructor(
    private readonly ctx: ControllerContext,
    opts: StatefulSetControllerOptions = {},
  ) {
    super('statefulset controller', { log: ctx.log, ...opts });
    this.client = ctx.client;
    this.recorder = ctx.recorder(COMPONENT);
    this.sets = ctx.informers.informer(STATEFUL_SETS);
    this.pods = ctx.informers.informer(PODS);
    this.revisions = ctx.informers.informer(CONTROLLER_REVISIONS);
    this.claims = ctx.informers.informer(PERSISTENT_VOLUME_CLAIMS);
    indexByController(this.pods);
    indexByController(this.revisions);
    this.share(this.sets, this.pods, this.revisions, this.claims);

    this.sets
      .onAdd((set) => this.enqueue(set))
      .onUpdate((_old, set) => this.enqueue(set))
      .onDelete((set) => this.enqueue(set));

    this.pods
      .onAdd((pod) => {
        const set = this.resolveControllerRef(pod);
        if (set) this.enqueue(set);
        else if (!controllerRefOf(pod) && !pod.metadata?.deletionTimestamp) for (const s of this.setsSelecting(pod)) this.enqueue(s);
      })
      .onUpdate((old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        const curRef = controllerRefOf(cur);
        const oldRef = controllerRefOf(old);
        const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
        if (refChanged && oldRef) {
          const prev = this.resolveControllerRef(old);
          if (prev) this.enqueue(prev);
        }
        if (curRef) {
          const set = this.resolveControllerRef(cur);
          if (!set) return;
          this.enqueue(set);
          // A pod that just turned ready becomes available minReadySeconds later: look again then.
          const minReadySeconds = Number(set.spec?.minReadySeconds ?? 0);
          if (minReadySeconds > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(keyOf(set), minReadySeconds * 1000 + 1000);
          return;
        }
        const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
        if (labelsChanged || refChanged) for (const s of this.setsSelecting(cur)) this.enqueue(s);
      })
      .onDelete((pod) => {
        const set = this.resolveControllerRef(pod);
        if (set) this.enqueue(set);
      });
  }

  // ---- event plumbing ----

  private enqueue(set: KubeObject): void {
    this.queue.add(keyOf(set));
  }

  private selectorOf(set: KubeObject): LabelPredicate | null {
    let sel = this.selectors.get(set);
    if (sel === undefined) {
      try {
        sel = labelSelectorFromObject(set.spec?.selector);
      } catch {
        sel = null;
      }
      this.selectors.set(set, sel);
    }
    return sel;
  }

  private resolveControllerRef(obj: KubeObject): KubeObject | undefined {
    const ref = controllerRefOf(obj);
    if (!ref || ref.kind !== KIND) return undefined;
    const set = this.sets.get(`${obj.metadata?.namespace}/${ref.name}`);
    return set && set.metadata?.uid === ref.uid ? set : undefined;
  }

  private setsSelecting(pod: KubeObject): KubeObject[] {
    return this.sets.listByNamespace(pod.metadata?.namespace ?? '').filter((set) => {
      const sel = this.selectorOf(set);
      return sel !== null && !sel.empty && sel.matches(pod.metadata?.labels);
    });
  }

  private record(set: KubeObject, e: { type: 'Normal' | 'Warning'; reason: string; message: string }): void {
    this.recorder.event(set, e.type, e.reason, e.message);
  }

  // ---- the sync ----

  /** Brings StatefulSet `key` (namespace/name) to its spec. Throws what should be retried. */
  override async reconcile(key: string): Promise<void> {
    const set = this.sets.get(key);
    if (!set) return;
    const selector = this.selectorOf(set);
    if (selector === null) return; // invalid: retrying cannot help
    await this.adoptOrphanRevisions(set, selector);
    const pods = await claimObjects(claimCandidates(this.pods, set), {
      client: this.client,
      ref: PODS,
      owner: set,
      apiVersion: API_VERSION,
      kind: KIND,
      selector,
      filter: (pod) => isMemberOf(set, pod),
      canAdopt: recheckOwner(this.client, STATEFUL_SETS, set),
    });
    const status = await this.updateStatefulSet(set, pods, selector);
    const minReadySeconds = Number(set.spec?.minReadySeconds ?? 0);
    // Availability comes with time alone; no event will say so.
    if (minReadySeconds > 0 && status && status.availableReplicas !== replicasOf(set)) this.queue.addAfter(key, minReadySeconds * 1000);
  }

  /** The set's revisions: those it controls and the orphans its selector takes (upstream's ListControllerRevisions). */
  private listRevisions(set: KubeObject, selector: LabelPredicate): KubeObject[] {
    return claimCandidates(this.revisions, set).filter((r) => selector.matches(r.metadata?.labels));
  }

  private async adoptOrphanRevisions(set: KubeObject, selector: LabelPredicate): Promise<void> {
    const orphans = this.listRevisions(set, selector).filter((r) => !controllerRefOf(r));
    if (orphans.length === 0) return;
    await claimObjects(orphans, {
      client: this.client,
      ref: CONTROLLER_REVISIONS,
      owner: set,
      apiVersion: API_VERSION,
      kind: KIND,
      selector,
      canAdopt: recheckOwner(this.client, STATEFUL_SETS, set),
    });
  }

  /** Upstream's UpdateStatefulSet: revisions, pods, status, then the history trimmed (even after a failure). */
  private async updateStatefulSet(set: KubeObject, pods: KubeObject[], selector: LabelPredicate): Promise<StatefulSetStatus | undefined> {
    const revisions = sortRevisions(this.listRevisions(set, selector));
    let current: KubeObject | undefined;
    let update: KubeObject | undefined;
    let status: StatefulSetStatus | undefined;
    let failure: unknown;
    try {
      const r = await this.statefulSetRevisions(set, revisions);
      current = r.current;
      update = r.update;
      const outcome = await this.syncPods(set, current, update, r.collisionCount, pods);
      status = outcome.status;
      failure = outcome.error;
      try {
        await this.writeStatus(set, status);
      } catch (err) {
        failure ??= err;
      }
    } catch (err) {
      failure ??= err;
    }
    try {
      await this.truncateHistory(set, pods, revisions, current, update);
    } catch (err) {
      failure ??= err;
    }
    if (failure !== undefined) throw failure;
    return status;
  }

  /** The current and update revisions, creating or renumbering the update revision as needed. */
  private async statefulSetRevisions(set: KubeObject, revisions: KubeObject[]): Promise<{ current: KubeObject; update: KubeObject; collisionCount: number }> {
    const collision = { count: typeof set.status?.collisionCount === 'number' ? set.status.collisionCount : 0 };
    const candidate = this.newRevision(set, nextRevision(revisions), collision.count);
    const equal = revisions.filter((r) => equalRevision(r, candidate));
    let update: KubeObject;
    if (equal.length > 0 && equalRevision(revisions[revisions.length - 1], equal[equal.length - 1])) {
      // The newest revision already records this template.
      update = revisions[revisions.length - 1];
    } else if (equal.length > 0) {
      // Back to an older template: that revision becomes the newest.
      update = await setRevisionNumber(this.client, equal[equal.length - 1], candidate.revision);
    } else {
      update = await this.createRevision(set, candidate, collision);
    }
    const current = revisions.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount: collision.count };
  }

  /** A revision of the set's template (upstream's newRevision and history.NewControllerRevision). */
  private newRevision(set: KubeObject, revision: number, collisionCount: number): KubeObject {
    const data = templatePatchOf(set);
    const hash = hashRevisionData(goJson(data), collisionCount);
    const metadata: KubeObject['metadata'] = {
      name: controllerRevisionName(set.metadata!.name!, hash),
      namespace: set.metadata!.namespace,
      labels: { ...set.spec?.template?.metadata?.labels, [REVISION_HASH_LABEL]: hash },
      ownerReferences: [newControllerRef(set, API_VERSION, KIND)],
    };
    if (set.metadata?.annotations && Object.keys(set.metadata.annotations).length > 0) metadata.annotations = { ...set.metadata.annotations };
    return { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata, data, revision };
  }

  /** Creates `revision`, renaming it with a higher collision count while its name is taken by other data. */
  private async createRevision(set: KubeObject, revision: KubeObject, collision: { count: number }): Promise<KubeObject> {
    const raw = revisionDataBytes(revision);
    for (;;) {
      const name = controllerRevisionName(set.metadata!.name!, hashRevisionData(raw, collision.count));
      try {
        return await this.client.create(CONTROLLER_REVISIONS, set.metadata!.namespace!, { ...revision, metadata: { ...revision.metadata, name } });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const existing = await this.client.get(CONTROLLER_REVISIONS, set.metadata!.namespace!, name);
        if (revisionDataBytes(existing) === raw) return existing;
        collision.count++;
      }
    }
  }

  /** Upstream's updateStatefulSet: creates, recreates and deletes pods, and computes the status. */
  private async syncPods(set: KubeObject, currentRevision: KubeObject, updateRevision: KubeObject, collisionCount: number, pods: KubeObject[]): Promise<{ status: StatefulSetStatus; error?: unknown }> {
    const currentSet = applyRevision(set, currentRevision);
    const updateSet = applyRevision(set, updateRevision);
    const minReadySeconds = Number(set.spec?.minReadySeconds ?? 0);
    const now = this.ctx.now();
    const status: StatefulSetStatus = {
      observedGeneration: Number(set.metadata?.generation ?? 0),
      currentRevision: currentRevision.metadata!.name!,
      updateRevision: updateRevision.metadata!.name!,
      collisionCount,
      replicas: 0,
      readyReplicas: 0,
      currentReplicas: 0,
      updatedReplicas: 0,
      availableReplicas: 0,
    };
    const count = (...lists: KubeObject[][]) => {
      status.replicas = status.readyReplicas = status.availableReplicas = status.currentReplicas = status.updatedReplicas = 0;
      for (const list of lists) {
        for (const pod of list) {
          if (isCreated(pod)) status.replicas++;
          if (isRunningAndReady(pod)) {
            status.readyReplicas++;
            if (isRunningAndAvailable(pod, minReadySeconds, now)) status.availableReplicas++;
          }
          if (isCreated(pod) && !isTerminating(pod)) {
            const rev = podRevision(pod);
            if (rev === status.currentRevision) status.currentReplicas++;
            if (rev === status.updateRevision) status.updatedReplicas++;
          }
        }
      }
    };
    count(pods);

    const start = startOrdinal(set);
    const replicas: KubeObject[] = new Array(replicasOf(set));
    const condemned: KubeObject[] = [];
    for (const pod of pods) {
      if (inOrdinalRange(pod, set)) replicas[ordinalOf(pod) - start] = pod;
      else if (ordinalOf(pod) >= 0) condemned.push(pod);
    }
    for (let i = 0; i < replicas.length; i++) {
      replicas[i] ??= newVersionedStatefulSetPod(currentSet, updateSet, status.currentRevision, status.updateRevision, start + i);
    }
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
    let firstUnhealthy = replicas.find((p) => !isHealthy(p));
    for (let i = condemned.length - 1; i >= 0 && !firstUnhealthy; i--) if (!isHealthy(condemned[i])) firstUnhealthy = condemned[i];

    // Being deleted: only the status is kept up to date.
    if (set.metadata?.deletionTimestamp) return { status };
    const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
    const done = (error?: unknown) => {
      count(replicas, condemned);
      return { status, error };
    };

    try {
      if (await runForAll(replicas, (i) => this.processReplica(set, currentRevision, updateRevision, currentSet, updateSet, monotonic, replicas, i), monotonic)) return done();
      if (set.spec?.volumeClaimTemplates?.length) {
        const fixClaims = async (i: number) => {
          if (!this.claimsMatchRetention(updateSet, condemned[i])) await this.updateClaimsForRetention(updateSet, condemned[i]);
          return false;
        };
        if (await runForAll(condemned, fixClaims, monotonic)) return done();
      }
      if (await runForAll(condemned, (i) => this.processCondemned(set, firstUnhealthy, monotonic, condemned, i), monotonic)) return done();
    } catch (err) {
      return done(err);
    }
    count(replicas, condemned);

    if (set.spec?.updateStrategy?.type === 'OnDelete') return { status };
    // Rolling update: the highest ordinal not at the update revision goes first, down to the partition.
    const updateMin = Number(set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0);
    for (let target = replicas.length - 1; target >= updateMin; target--) {
      const pod = replicas[target];
      if (podRevision(pod) !== status.updateRevision && !isTerminating(pod)) {
        try {
          await this.deletePod(set, pod);
        } catch (err) {
          if (!isNotFound(err)) return { status, error: err };
        }
        status.currentReplicas--;
        return { status };
      }
      // Wait for the updated pod to be healthy before the next one.
      if (!isHealthy(pod)) return { status };
    }
    return { status };
  }

  /** One replica: recreate it if it finished, create it if missing, and (OrderedReady) stop at the first not ready. */
  private async processReplica(
    set: KubeObject,
    currentRevision: KubeObject,
    updateRevision: KubeObject,
    currentSet: KubeObject,
    updateSet: KubeObject,
    monotonic: boolean,
    replicas: KubeObject[],
    i: number,
  ): Promise<boolean> {
    const pod = replicas[i];
    const phase = pod.status?.phase;
    if (phase === 'Failed' || phase === 'Succeeded') {
      // A pod already on its way out was dealt with by an earlier sync; only its successor is due.
      if (!isTerminating(pod)) {
        const ns = set.metadata?.namespace;
        if (phase === 'Failed') this.recorder.event(set, 'Warning', 'RecreatingFailedPod', `StatefulSet ${ns}/${set.metadata?.name} is recreating failed Pod ${pod.metadata?.name}`);
        else this.recorder.event(set, 'Normal', 'RecreatingTerminatedPod', `StatefulSet ${ns}/${set.metadata?.name} is recreating terminated Pod ${pod.metadata?.name}`);
        await this.deletePod(set, pod);
      }
      replicas[i] = newVersionedStatefulSetPod(currentSet, updateSet, currentRevision.metadata!.name!, updateRevision.metadata!.name!, startOrdinal(set) + i);
    }
    const replica = replicas[i];
    if (!isCreated(replica)) {
      // A claim left by an earlier pod of this name must go first (whenScaled: Delete).
      if (scalesClaimsAway(set) && this.claimsAreStale(set, replica)) return true;
      await this.createPod(set, replica);
      return monotonic;
    }
    if (replica.status?.phase === 'Pending') await this.createMissingClaims(set, replica);
    if (monotonic && isTerminating(replica)) return true;
    if (monotonic && !isRunningAndReady(replica)) return true;
    if (monotonic && !isRunningAndAvailable(replica, Number(set.spec?.minReadySeconds ?? 0), this.ctx.now())) return true;
    const retentionMatches = this.claimsMatchRetention(updateSet, replica);
    if (identityMatches(set, replica) && storageMatches(set, replica) && retentionMatches) return false;
    await this.updatePod(updateSet, replica);
    return false;
  }

  /** A pod beyond the replicas: deleted from the highest ordinal down, (OrderedReady) only when all is healthy. */
  private async processCondemned(set: KubeObject, firstUnhealthy: KubeObject | undefined, monotonic: boolean, condemned: KubeObject[], i: number): Promise<boolean> {
    const pod = condemned[i];
    if (isTerminating(pod)) return monotonic;
    if (monotonic && pod !== firstUnhealthy) {
      if (!isRunningAndReady(pod)) return true;
      if (!isRunningAndAvailable(pod, Number(set.spec?.minReadySeconds ?? 0), this.ctx.now())) return true;
    }
    await this.deletePod(set, pod);
    return true;
  }

  // ---- pods and claims ----

  private async createPod(set: KubeObject, pod: KubeObject): Promise<void> {
    try {
      await this.createClaims(set, pod);
    } catch (err) {
      this.record(set, podEvent('create', pod, set, err));
      throw err;
    }
    let created: KubeObject;
    try {
      created = await this.client.create(PODS, set.metadata!.namespace!, pod);
    } catch (err) {
      // The cache has yet to see it: nothing to tell anyone.
      if (!isAlreadyExists(err)) this.record(set, podEvent('create', pod, set, err));
      throw err;
    }
    this.record(set, podEvent('create', pod, set));
    if (set.spec?.volumeClaimTemplates?.length) await this.updateClaimsForRetention(set, created);
  }

  private async deletePod(set: KubeObject, pod: KubeObject): Promise<void> {
    try {
      await this.client.delete(PODS, pod.metadata!.namespace!, pod.metadata!.name!);
    } catch (err) {
      this.record(set, podEvent('delete', pod, set, err));
      throw err;
    }
    this.record(set, podEvent('delete', pod, set));
  }

  /** Restores identity labels and claims of an existing pod (upstream's UpdateStatefulPod). */
  private async updatePod(set: KubeObject, pod: KubeObject): Promise<void> {
    let next = pod;
    if (!identityMatches(set, next)) next = withIdentity(set, next);
    if (!storageMatches(set, next)) {
      next = withStorage(set, next);
      try {
        await this.createClaims(set, next);
      } catch (err) {
        this.record(set, podEvent('update', pod, set, err));
        throw err;
      }
    }
    try {
      if (!this.claimsMatchRetention(set, next)) await this.updateClaimsForRetention(set, next);
      if (next !== pod) await this.client.update(PODS, pod.metadata!.namespace!, next);
    } catch (err) {
      this.record(set, podEvent('update', pod, set, err));
      throw err;
    }
    if (next !== pod) this.record(set, podEvent('update', pod, set));
  }

  private claim(namespace: string, name: string): KubeObject | undefined {
    return this.claims.get(`${namespace}/${name}`);
  }

  /** Creates the pod's claims the cache does not have (upstream's createPersistentVolumeClaims). */
  private async createClaims(set: KubeObject, pod: KubeObject): Promise<void> {
    const errors: string[] = [];
    for (const claim of claimsFor(set, ordinalOf(pod))) {
      const ns = claim.metadata!.namespace!;
      const name = claim.metadata!.name!;
      const existing = this.claim(ns, name);
      if (existing) {
        if (existing.metadata?.deletionTimestamp) errors.push(`pvc ${name} is being deleted`);
        continue;
      }
      try {
        await this.client.create(PERSISTENT_VOLUME_CLAIMS, ns, claim);
        this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${name} Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} success`);
      } catch (err) {
        errors.push(`failed to create PVC ${name}: ${(err as Error).message}`);
        if (!isAlreadyExists(err)) {
          this.recorder.event(set, 'Warning', 'FailedCreate', `create Claim ${name} for Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${(err as Error).message}`);
        }
      }
    }
    if (errors.length > 0) throw new Error(errors.join(', '));
  }

  /** A pending pod's claims are recreated if someone deleted them (upstream's createMissingPersistentVolumeClaims). */
  private async createMissingClaims(set: KubeObject, pod: KubeObject): Promise<void> {
    await this.createClaims(set, pod);
    try {
      await this.updateClaimsForRetention(set, pod);
    } catch (err) {
      this.record(set, podEvent('update', pod, set, err));
      throw err;
    }
  }

  private claimsMatchRetention(set: KubeObject, pod: KubeObject): boolean {
    for (const claim of claimsFor(set, ordinalOf(pod))) {
      const existing = this.claim(claim.metadata!.namespace!, claim.metadata!.name!);
      if (existing && !claimOwnersMatch(existing, set, pod)) return false;
    }
    return true;
  }

  /** Sets the claims' owner references as the retention policy wants them. */
  private async updateClaimsForRetention(set: KubeObject, pod: KubeObject): Promise<void> {
    for (const claim of claimsFor(set, ordinalOf(pod))) {
      const existing = this.claim(claim.metadata!.namespace!, claim.metadata!.name!);
      if (!existing || claimOwnersMatch(existing, set, pod)) continue;
      const ownerReferences = claimOwnerReferences(existing, set, pod);
      try {
        await this.client.update(PERSISTENT_VOLUME_CLAIMS, existing.metadata!.namespace!, { ...existing, metadata: { ...existing.metadata, ownerReferences } });
      } catch (err) {
        throw new Error(`could not update claim ${existing.metadata!.name} for delete policy ownerRefs: ${(err as Error).message}`);
      }
    }
  }

  private claimsAreStale(set: KubeObject, pod: KubeObject): boolean {
    return claimsFor(set, ordinalOf(pod)).some((c) => {
      const existing = this.claim(c.metadata!.namespace!, c.metadata!.name!);
      return existing !== undefined && claimIsStale(existing, pod);
    });
  }

  // ---- status and history ----

  /** Writes the status when it says something new; a finished rolling update makes the update revision current. */
  private async writeStatus(set: KubeObject, status: StatefulSetStatus): Promise<void> {
    if (set.spec?.updateStrategy?.type === 'RollingUpdate' && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
      status.currentReplicas = status.updatedReplicas;
      status.currentRevision = status.updateRevision;
    }
    const s = set.status ?? {};
    const changed =
      status.observedGeneration > Number(s.observedGeneration ?? 0) ||
      status.replicas !== Number(s.replicas ?? 0) ||
      status.currentReplicas !== Number(s.currentReplicas ?? 0) ||
      status.readyReplicas !== Number(s.readyReplicas ?? 0) ||
      status.updatedReplicas !== Number(s.updatedReplicas ?? 0) ||
      status.currentRevision !== (s.currentRevision ?? '') ||
      status.availableReplicas !== Number(s.availableReplicas ?? 0) ||
      status.updateRevision !== (s.updateRevision ?? '');
    if (!changed) return;
    // Fields Go omits when empty stay out, so the object reads as upstream's.
    const written: Record<string, unknown> = { replicas: status.replicas, availableReplicas: status.availableReplicas, collisionCount: status.collisionCount };
    if (status.observedGeneration) written.observedGeneration = status.observedGeneration;
    if (status.readyReplicas) written.readyReplicas = status.readyReplicas;
    if (status.currentReplicas) written.currentReplicas = status.currentReplicas;
    if (status.updatedReplicas) written.updatedReplicas = status.updatedReplicas;
    if (status.currentRevision) written.currentRevision = status.currentRevision;
    if (status.updateRevision) written.updateRevision = status.updateRevision;
    await this.client.update(STATEFUL_SETS, set.metadata!.namespace!, { ...set, status: written }, { subresource: 'status' });
  }

  /** Deletes the oldest revisions that no pod and neither status revision uses, down to revisionHistoryLimit. */
  private async truncateHistory(set: KubeObject, pods: KubeObject[], revisions: KubeObject[], current: KubeObject | undefined, update: KubeObject | undefined): Promise<void> {
    const live = new Set<string>(pods.map(podRevision));
    if (current) live.add(current.metadata!.name!);
    if (update) live.add(update.metadata!.name!);
    const history = revisions.filter((r) => !live.has(r.metadata!.name!));
    await truncateRevisions(this.client, history, Number(set.spec?.revisionHistoryLimit ?? 10));
  }
}

/**
 * Controller expectations, after upstream's ControllerExpectations: a controller that has just
 * created or deleted n pods waits until its informer has seen all n before it counts pods again,
 * so a slow watch never makes it create the same replicas twice. Expectations expire after five
 * minutes, in case an event was lost for good.
 */
const TTL_MS = 5 * 60 * 1000;

interface Expectation {
  adds: number;
  dels: number;
  at: number;
  /** The keys of the pods whose deletion is awaited, when they are tracked one by one. */
  deleting?: Set<string>;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True when nothing is outstanding for `key` (or what was expected is too old to wait for). */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.dels <= 0) || this.now() - e.at > TTL_MS) return true;
    return false;
  }

  /** Expects `adds` creations and `dels` deletions at once (upstream's SetExpectations). */
  expect(key: string, adds: number, dels: number): void {
    this.byKey.set(key, { adds, dels, at: this.now() });
  }

  expectCreations(key: string, n: number): void {
    this.byKey.set(key, { adds: n, dels: 0, at: this.now() });
  }

  expectDeletions(key: string, n: number): void {
    this.byKey.set(key, { adds: 0, dels: n, at: this.now() });
  }

  /**
   * Expects the deletion of these pods (`namespace/name` keys), as upstream's
   * UIDTrackingControllerExpectations: each counts once, however often its deletion is seen (a
   * graceful deletion is seen when the pod is marked and again when it goes).
   */
  expectDeletionsOf(key: string, podKeys: string[]): void {
    this.byKey.set(key, { adds: 0, dels: podKeys.length, at: this.now(), deleting: new Set(podKeys) });
  }

  /** The deletion of pod `podKey` was seen: it counts only if it was expected and not yet counted. */
  deletionObservedOf(key: string, podKey: string): void {
    const e = this.byKey.get(key);
    if (!e) return;
    if (e.deleting && !e.deleting.delete(podKey)) return;
    e.dels--;
  }

  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.adds--;
  }

  deletionObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.dels--;
  }

  /** Forgets `key` (its owner was deleted). */
  delete(key: string): void {
    this.byKey.delete(key);
  }
}

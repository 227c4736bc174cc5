/**
 * The pods whose tracking finalizer the Job controller has asked to remove and whose removal its
 * informer has yet to show, after upstream's uidTrackingExpectations. Until then those pods count
 * as already processed, so a slow watch never makes a pod count twice.
 */
export class FinalizerExpectations {
  private readonly byJob = new Map<string, Set<string>>();

  expectRemovals(jobKey: string, uids: readonly string[]): void {
    let set = this.byJob.get(jobKey);
    if (!set) this.byJob.set(jobKey, (set = new Set()));
    for (const uid of uids) set.add(uid);
  }

  removalObserved(jobKey: string, uid: string): void {
    const set = this.byJob.get(jobKey);
    if (!set) return;
    set.delete(uid);
    if (set.size === 0) this.byJob.delete(jobKey);
  }

  /** A copy: the caller's view must not change under it while it works. */
  expected(jobKey: string): Set<string> {
    return new Set(this.byJob.get(jobKey));
  }

  delete(jobKey: string): void {
    this.byJob.delete(jobKey);
  }
}

/**
 * Compacts store history periodically, like kube-apiserver does for etcd (every 5 minutes), keeping
 * enough history for watches to resume across short disconnects.
 */
import type { Store } from '../storage/store.js';

const INTERVAL_MS = 5 * 60_000;

export class Compactor {
  private timer: NodeJS.Timeout | undefined;
  private lastSeen = 0;

  constructor(private readonly store: Store) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Compacts to the revision seen one interval ago: everything newer stays resumable. */
  async tick(): Promise<void> {
    try {
      const current = await this.store.currentRevision();
      if (this.lastSeen > 0) await this.store.compact(this.lastSeen);
      this.lastSeen = current;
    } catch (err) {
      console.error(`compactor: ${(err as Error).message}`);
    }
  }
}

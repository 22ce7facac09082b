// Memory is pushed when it changes: while notebooks are bound, the server samples
// its workers' resident memory (/proc reads, no worker request) every couple of
// seconds and pushes pool stats when any worker moved by a visible amount, so the
// Ref Explorer and status bar show memory that grows inside a long cell or a
// background thread without the client ever polling.
import type { Pool } from '../pool';

export const MEMORY_SAMPLE_MS = 2000;
/** A change smaller than this (and than 2% of the worker) is not worth a push. */
const MIN_CHANGE_BYTES = 1024 * 1024;

export class MemoryWatch {
  private timer: NodeJS.Timeout | undefined;
  private readonly last = new Map<number, number>();

  constructor(private readonly pools: () => readonly Pool[], private readonly anyBound: () => boolean, private readonly push: () => void) {}

  start(): void {
    this.timer ??= setInterval(() => this.sample(), MEMORY_SAMPLE_MS);
    this.timer.unref();
  }

  /** Records what was pushed (call with every stats push), so only real changes push again. */
  pushed(workers: readonly { pid: number; rssBytes: number }[]): void {
    this.last.clear();
    for (const w of workers) this.last.set(w.pid, w.rssBytes);
  }

  private sample(): void {
    if (!this.anyBound()) return;
    for (const w of this.pools().flatMap(p => p.stats().workers)) {
      if (!w.owner) continue;
      const before = this.last.get(w.pid);
      const delta = Math.abs(w.rssBytes - (before ?? 0));
      if (before === undefined || (delta >= MIN_CHANGE_BYTES && delta >= before * 0.02)) { this.push(); return; }
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

// Liveness of a worker behind a launcher. A remote worker can hang without any
// EOF (a frozen node, a killed slurmstepd, a broken network: srun then waits for
// minutes), so every `intervalMs` the pool sends an in-band `stats` and counts
// any byte from the worker as a sign of life. Three intervals in a row without one
// and the worker is declared lost. Misses are counted per tick, not from a clock
// difference, so a stall of this Node process (a loaded machine) counts as one
// miss at most: timers run before pending I/O is read. The stats reply also
// stands in for /proc, which the pool cannot read on another node (resident
// memory for pool stats).
export interface HeartbeatPort {
  /** Send the beat; resolves with the worker's stats (rss_bytes…) or rejects. */
  beat(timeoutMs: number): Promise<unknown>;
  /** Called once, when three intervals passed in silence. */
  lost(silentMs: number): void;
}

export const HEARTBEAT_MISSES = 3;

export class Heartbeat {
  private seenSinceTick = true;
  private misses = 0;
  private silentSince = Date.now();
  private timer?: NodeJS.Timeout;
  /** Resident memory the worker last reported (0 before the first beat). */
  rssBytes = 0;

  constructor(private readonly intervalMs: number, private readonly port: HeartbeatPort) {}

  start(): void {
    if (!(this.intervalMs > 0) || this.timer) return;
    this.seenSinceTick = true;
    this.misses = 0;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Any bytes from the worker. */
  seen(): void { this.seenSinceTick = true; }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (this.seenSinceTick) {
      this.seenSinceTick = false;
      this.misses = 0;
      this.silentSince = Date.now();
    } else if (++this.misses >= HEARTBEAT_MISSES) {
      this.stop();
      this.port.lost(Date.now() - this.silentSince);
      return;
    }
    this.port.beat(HEARTBEAT_MISSES * this.intervalMs).then(v => {
      const rss = (v as { rss_bytes?: unknown } | null)?.rss_bytes;
      if (typeof rss === 'number') this.rssBytes = rss;
    }, () => { /* the silence itself is what counts */ });
  }
}

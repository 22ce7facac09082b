// Pushes pool changes to the client without polling: `pyctx/statsChanged` (pool
// stats + sessions) and `pyctx/refsChanged` (per session). Bursts are coalesced:
// the first change arms a short timer, later changes within it ride along, so a
// run of 100 cells or a storm of pool events sends a handful of notifications.
export const PUSH_DELAY_MS = 50;

export class ChangePusher {
  private statsTimer: NodeJS.Timeout | undefined;
  private refsTimer: NodeJS.Timeout | undefined;
  private readonly dirtySessions = new Set<string>();

  constructor(
    private readonly sendStats: () => void,
    private readonly sendRefs: (sessionId: string) => void,
    private readonly delayMs = PUSH_DELAY_MS,
  ) {}

  stats(): void {
    this.statsTimer ??= setTimeout(() => { this.statsTimer = undefined; this.sendStats(); }, this.delayMs);
  }

  refs(sessionId: string): void {
    this.dirtySessions.add(sessionId);
    this.refsTimer ??= setTimeout(() => {
      this.refsTimer = undefined;
      const ids = [...this.dirtySessions];
      this.dirtySessions.clear();
      for (const id of ids) this.sendRefs(id);
    }, this.delayMs);
  }

  dispose(): void {
    if (this.statsTimer) clearTimeout(this.statsTimer);
    if (this.refsTimer) clearTimeout(this.refsTimer);
    this.statsTimer = this.refsTimer = undefined;
  }
}

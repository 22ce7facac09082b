// The per-cell progress line of `pyctx run` ("cell n/N, elapsed") on stderr. Shown
// only when stderr is a terminal (or --progress forces it), so pipes and CI logs
// stay quiet and stdout keeps only the final "wrote ..." lines.

export type CellStatus = 'ok' | 'error' | 'timeout' | 'crashed' | 'interrupted';

export class Progress {
  constructor(private readonly enabled: boolean, private readonly out: NodeJS.WritableStream = process.stderr) {}

  /** One line when a code cell finishes: `[n/N] name cell k  status  1.23s`. */
  cell(name: string, n: number, total: number, position: number, status: CellStatus, ms: number): void {
    if (!this.enabled) return;
    const width = String(total).length;
    this.out.write(`[${String(n).padStart(width)}/${total}] ${name} cell ${position}  ${status.padEnd(5)}  ${(ms / 1000).toFixed(2)}s\n`);
  }
}

// The server's side of a traced cell (client sets ExecuteParams.trace when
// PYCTX_TRACE=1, see src/kernel/trace.ts): timestamps of the hops this process
// sees, returned in the ExecuteResult so the client prints one merged trace.
// Off (the default) it costs one `undefined` check per hop.
import { performance } from 'node:perf_hooks';
import type { TraceHop } from '../protocol/lsp';

/** Milliseconds since the epoch, sub-millisecond: comparable with the client's clock on this machine. */
export const traceClock = (): number => performance.timeOrigin + performance.now();

export class HopRecorder {
  readonly hops: TraceHop[] = [];
  mark(hop: string): void { this.hops.push({ hop, t: traceClock() }); }
}

/** A recorder when the request asked for a trace, else undefined (nothing is recorded). */
export function hopRecorder(asked: boolean | undefined): HopRecorder | undefined {
  return asked === true ? new HopRecorder() : undefined;
}

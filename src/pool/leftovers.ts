// What a worker that died abruptly (segfault, abort, SIGKILL) still had to say.
// Two sources, both read only after the exit:
//  - its capture pipes: output the worker's capture thread had not yet sent (it
//    batches for ~5 ms, and a crash right after a print leaves the text in the pipe).
//    On Linux the pool reopens the pipes' read ends through /proc/<pid>/fd at hello,
//    so the bytes outlive the process. Elsewhere this part is a no-op.
//  - faulthandler's report on the worker's real stderr: the Python stack of the
//    crashing thread, cut to the user's frames (the worker's own are noise).
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface LeftoverStream { name: 'stdout' | 'stderr'; text: string }

/** Bytes read per pipe at most (the worker sizes its pipes to 1 MiB). */
const MAX_PIPE_BYTES = 1 << 20;

export class CapturePipes {
  private constructor(private readonly fds: { name: 'stdout' | 'stderr'; fd: number }[]) {}

  /** Reopen the worker's capture read ends; undefined where /proc cannot do it. */
  static open(pid: number, captureFds: unknown): CapturePipes | undefined {
    if (process.platform !== 'linux' || !captureFds || typeof captureFds !== 'object') return undefined;
    const fds: { name: 'stdout' | 'stderr'; fd: number }[] = [];
    for (const name of ['stdout', 'stderr'] as const) {
      const n = (captureFds as Record<string, unknown>)[name];
      if (typeof n !== 'number') continue;
      try {
        fds.push({ name, fd: openSync(`/proc/${pid}/fd/${n}`, constants.O_RDONLY | constants.O_NONBLOCK) });
      } catch { /* no /proc, or not allowed: nothing to recover later */ }
    }
    return fds.length ? new CapturePipes(fds) : undefined;
  }

  /** Whatever is left in the pipes, stdout first; closes them. Call once, after the exit. */
  drainAndClose(): LeftoverStream[] {
    const out: LeftoverStream[] = [];
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (const { name, fd } of this.fds) {
      const decoder = new StringDecoder('utf8');
      let text = '';
      let total = 0;
      try {
        while (total < MAX_PIPE_BYTES) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, MAX_PIPE_BYTES - total), null);
          if (n <= 0) break;
          total += n;
          text += decoder.write(buf.subarray(0, n));
        }
      } catch { /* EAGAIN: empty, and a survivor still holds the write end */ }
      text += decoder.end();
      if (text) out.push({ name, text });
    }
    this.close();
    return out;
  }

  close(): void {
    for (const { fd } of this.fds.splice(0)) {
      try { closeSync(fd); } catch { /* already closed */ }
    }
  }
}

const FRAME = /^\s+File "(.*)", line \d+ in /;
// The worker's own frames, and those of IPython's shell running the cell in IPython mode.
const IPYTHON_RUNNER = /[\\/]IPython[\\/]core[\\/](interactiveshell|async_helpers)\.py$/;
const isWorkerFrame = (file: string): boolean => file.includes('pyctx_worker') || file === '<string>' || IPYTHON_RUNNER.test(file);

/**
 * Split faulthandler's report out of a worker's stderr tail. `report` keeps the
 * header and the frames of user code (most recent call first) up to the first
 * frame of the worker itself; `rest` is the stderr without the report.
 */
export function splitFaultReport(stderr: string): { report?: string; rest: string } {
  const start = stderr.lastIndexOf('Fatal Python error: ');
  if (start < 0) return { rest: stderr };
  const lines = stderr.slice(start).split('\n');
  const kept: string[] = [];
  let seenFrame = false;
  let inWorker = false;
  let i = 0;
  for (; i < lines.length; i++) {
    const frame = FRAME.exec(lines[i]);
    if (frame) {
      seenFrame = true;
      inWorker ||= isWorkerFrame(frame[1]);
      if (!inWorker) kept.push(lines[i]);
    } else if (seenFrame) {
      break; // the stack ended
    } else {
      kept.push(lines[i]);
    }
  }
  // Python 3.10+ follows the stack with a blank line and "Extension modules: ...".
  const after = lines.slice(i);
  while (after.length && (after[0] === '' || after[0].startsWith('Extension modules:'))) after.shift();
  while (kept.length && kept[kept.length - 1].trim() === '') kept.pop();
  return { report: kept.join('\n') + '\n', rest: (stderr.slice(0, start) + after.join('\n')).trim() };
}

// One Python worker process and its two channels (see src/protocol/wire.ts):
// the main channel (stdin/stdout) carries one request at a time, in FIFO order
// from this object's queue; the control channel (fd 3 socket) carries concurrent
// queries answered by the worker's control thread, even while a cell runs.
// This class owns spawning, framing, request timeouts (SIGINT, then kill after a
// grace period), input() round trips, and turning an exit into rejections. Pool
// policy (binding, recycling, replacement) lives in broker.ts and workers.ts.
// Behind a launcher (launch.ts) there is no fd 3 and no /proc of the worker: control
// goes in-band on stdin, a heartbeat watches liveness (heartbeat.ts), and `pid` is
// the launcher's.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Readable, Writable, Duplex } from 'node:stream';
import { CONTROL_FD, CONTROL_MARK, Event, INBAND_ENV, Op } from '../protocol/wire';
import { PyCtxError, PyCtxErrorCode, fromWireError } from './errors';
import { FrameDecoder, encodeFrame } from './framing';
import { Heartbeat } from './heartbeat';
import { launchArgv, launcherName } from './launch';
import { CapturePipes, splitFaultReport, type LeftoverStream } from './leftovers';
import { execaSync, loadExeca, workerBootstrap } from './python';
import type { HelloInfo, InputRequest, TraceHopName } from './types';

export interface WorkerSpawnOptions {
  executable: string;
  pythonDir: string;
  cwd: string;
  env: Record<string, string | undefined>;
  maxFrameBytes: number;
  preload: string[];
  /** Default session of this worker (PYCTX_SESSION); requests name theirs explicitly. */
  session: string;
  startTimeoutMs: number;
  interruptGraceMs: number;
  /** argv prefix that starts the worker elsewhere (srun, ssh); none = a local child. */
  launcher?: string[];
  /** Launcher only: interval of the in-band heartbeat; 0 = off. */
  heartbeatMs?: number;
}

type KillReason = { code: PyCtxErrorCode; message: string; reason?: string };

/** A request waiting for or holding the main channel. */
export interface Job {
  op: string;
  fields: Record<string, unknown>;
  /** Total time limit from submission (queued + running). */
  timeoutMs?: number;
  /** Time limit while queued; elapsing gives pool_saturated. */
  queueTimeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: (ev: Record<string, unknown>) => void;
  onInput?: (req: InputRequest) => Promise<string | null> | string | null;
  /** Diagnostics: frame written to the worker, reply frame decoded (ExecuteOptions.onTrace). */
  onTrace?: (hop: TraceHopName) => void;
}

interface LiveJob extends Job {
  id: number;
  frame: Buffer;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  state: 'queued' | 'running' | 'done';
  timer?: NodeJS.Timeout;
  queueTimer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
  timedOut?: boolean;
  abortListener?: () => void;
}

export interface WorkerExit {
  exitCode: number | null;
  signal: string | null;
  /** Why we killed it, if we did. */
  reason?: KillReason;
  /** Last bytes the process wrote to its real stderr (startup errors; a launcher's own words). */
  stderr: string;
  /** Launcher: why it ended, in the launcher's words (exit status alone says nothing). */
  message?: string;
}

const PAGE_SIZE = 4096;
/** A launcher gets this long after SIGTERM to end its job before SIGKILL. */
const LAUNCHER_KILL_GRACE_MS = 5000;
/** A launcher's clean exit includes the scheduler's step teardown: a longer wait before kill(). */
const LAUNCHER_STOP_GRACE_MS = 5000;
/** After EOF on a launcher's stdout, how long it may take to exit on its own (its exit status says more). */
const LAUNCHER_EOF_GRACE_MS = 3000;

/**
 * Workers run in their own process group (POSIX), so processes their user code
 * starts (subprocess.Popen, multiprocessing) can be ended with them: every kill
 * and every exit signals the whole group. A detached child is outside execa's
 * `cleanup`, so live groups are also killed when this Node process exits.
 */
const OWN_GROUP = process.platform !== 'win32';
const liveGroups = new Set<number>();
/** Groups of launchers: ended with SIGTERM at exit, so they can release their jobs. */
const launcherGroups = new Set<number>();
let exitHookInstalled = false;
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  if (!OWN_GROUP || pid <= 0) return false;
  try { process.kill(-pid, signal); return true; } catch { return false; }
}
function trackGroup(pid: number): void {
  if (!OWN_GROUP || pid <= 0) return;
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => { for (const g of liveGroups) killGroup(g, launcherGroups.has(g) ? 'SIGTERM' : 'SIGKILL'); });
}

export class Worker extends EventEmitter {
  readonly pid: number;
  readonly startedAt = Date.now();
  hello!: HelloInfo;
  /** Resolves after the hello; rejects with worker_start_failed. */
  ready!: Promise<void>;
  exited = false;
  exitInfo?: WorkerExit;
  /** Resolves when the process is gone and every pending request was settled. */
  readonly closed: Promise<WorkerExit>;

  private readonly proc: import('execa').ResultPromise<any>;
  private readonly stdin: Writable;
  private readonly ctrl: Duplex;
  private nextId = 1;
  private current: LiveJob | null = null;
  private readonly queue: LiveJob[] = [];
  private readonly ctrlPending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer?: NodeJS.Timeout }>();
  private killReason?: KillReason;
  /** Set when a launcher runs the worker: control in-band, liveness by heartbeat. */
  private readonly heartbeat?: Heartbeat;
  private readonly remote: boolean;
  private stopRequested = false;
  private stderrTail = '';
  /** The capture pipes, reopened to read what a crash left in them (Linux). */
  private pipes?: CapturePipes;
  /** Id of the last request sent on the main channel: owner of output left at a crash. */
  private lastMainId?: number;
  private resolveClosed!: (e: WorkerExit) => void;

  private constructor(proc: import('execa').ResultPromise<any>, private readonly opts: WorkerSpawnOptions) {
    super();
    this.proc = proc;
    this.pid = proc.pid ?? -1;
    trackGroup(this.pid);
    if (opts.launcher && this.pid > 0) launcherGroups.add(this.pid);
    this.closed = new Promise(r => { this.resolveClosed = r; });
    this.stdin = proc.stdin as Writable;
    const stdout = proc.stdout as unknown as Readable;
    this.remote = !!opts.launcher;
    // In-band: control frames go down stdin (marked), replies come back on stdout.
    this.ctrl = this.remote ? this.stdin as unknown as Duplex : proc.stdio[CONTROL_FD] as unknown as Duplex;
    const swallow = (): void => {}; // EPIPE etc. surface as the exit event instead
    this.stdin.on('error', swallow);
    stdout.on('error', swallow);
    this.ctrl.on('error', swallow);
    if (this.remote) {
      const hb = new Heartbeat(opts.heartbeatMs ?? 5000, {
        beat: timeoutMs => this.control(Op.stats, {}, timeoutMs),
        lost: silentMs => this.kill({
          code: 'worker_crashed', reason: 'heartbeat',
          message: `worker on ${launcherName(opts.launcher!)} stopped answering: no heartbeat for ${Math.round(silentMs / 1000)} s `
            + `(its node may be frozen or unreachable); the launcher was ended`,
        }),
      });
      this.heartbeat = hb;
      stdout.on('data', () => hb.seen());
    }

    const main = new FrameDecoder(opts.maxFrameBytes, m => this.onMainFrame(m as Record<string, unknown>));
    stdout.on('data', (chunk: Buffer) => {
      if (this.exited) return;
      try { main.push(chunk); } catch (e) { this.protocolBreak(e); }
    });
    if (!this.remote) {
      const control = new FrameDecoder(opts.maxFrameBytes, m => this.onControlFrame(m as Record<string, unknown>));
      this.ctrl.on('data', (chunk: Buffer) => {
        if (this.exited) return;
        try { control.push(chunk); } catch (e) { this.protocolBreak(e); }
      });
    }
    (proc.stderr as unknown as Readable).on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });

    let stdoutEnded = false;
    stdout.once('end', () => {
      stdoutEnded = true;
      // A launcher can close the stream and linger (srun after a node failure): EOF
      // without the goodbye is the end of this worker, whatever the launcher does next.
      // (A stop we asked for has its own grace: srun may take seconds to tear a step down.)
      if (this.remote && !this.stopRequested && !this.killReason) {
        const t = setTimeout(() => this.kill({ code: 'worker_crashed',
          message: `${launcherName(opts.launcher!)} closed the worker's output without the worker's goodbye and did not exit` }), LAUNCHER_EOF_GRACE_MS);
        void this.closed.then(() => clearTimeout(t));
      }
    });
    proc.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      // Let the last reply bytes (written just before exiting) be read first.
      const finish = (): void => this.onExit(code, signal);
      if (stdoutEnded) setImmediate(finish);
      else {
        const t = setTimeout(finish, 100);
        stdout.once('end', () => { clearTimeout(t); setImmediate(finish); });
      }
    });
    // The subprocess promise (reject: false) never rejects; keep it from dangling.
    proc.catch(() => {});
  }

  /**
   * Spawn a worker now (pid known at once, for stats); `ready` resolves after its
   * hello. Needs loadExeca() to have resolved (Pool.start does).
   */
  static spawnSync(opts: WorkerSpawnOptions): Worker {
    const { execa } = execaSync();
    const env: Record<string, string | undefined> = {
      ...opts.env,
      PYCTX_MAX_FRAME_BYTES: String(opts.maxFrameBytes),
      PYCTX_PRELOAD: opts.preload.join(','),
      PYCTX_SESSION: opts.session,
    };
    if (opts.launcher) env[INBAND_ENV] = '1';
    // Through a launcher the worker's environment is named on its command line (ssh and
    // kubectl forward none of ours); the local environment still goes to the launcher.
    const argv = launchArgv(opts.launcher, [opts.executable, '-c', workerBootstrap(opts.pythonDir)], opts.launcher ? env : {});
    const proc = execa(argv.file, argv.args, {
      stdio: opts.launcher ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'], buffer: false, reject: false, cleanup: true,
      // Own process group (see OWN_GROUP): a terminal's Ctrl-C no longer reaches workers
      // directly; callers interrupt through AbortSignal / interrupt() (the CLI does).
      detached: OWN_GROUP,
      env, extendEnv: true, cwd: opts.cwd,
    });
    const w = new Worker(proc as unknown as import('execa').ResultPromise<any>, opts);
    w.ready = w.handshake();
    w.ready.catch(() => {});
    return w;
  }

  /** Spawn and wait for the hello. */
  static async start(opts: WorkerSpawnOptions): Promise<Worker> {
    await loadExeca();
    const w = Worker.spawnSync(opts);
    await w.ready;
    return w;
  }

  private async handshake(): Promise<void> {
    try {
      if (this.pid < 0) throw new PyCtxError('worker_start_failed', `could not spawn ${this.opts.launcher?.[0] ?? this.opts.executable}`);
      // A remote node gets the folder to work in by name (the launcher's cwd may not exist there).
      const fields = this.remote ? { cwd: this.opts.cwd } : {};
      this.hello = await this.request({ op: Op.hello, fields, timeoutMs: this.opts.startTimeoutMs }) as HelloInfo;
      // Reading a crashed worker's pipes needs its /proc: only for local children.
      if (!this.exited && !this.remote) this.pipes = CapturePipes.open(this.pid, this.hello.capture_fds);
      this.heartbeat?.start();
    } catch (e) {
      this.kill({ code: 'worker_start_failed', message: 'no hello' });
      const exit = await this.closed;
      const err = e as PyCtxError;
      const stderr = exit.stderr.trim();
      const detail = stderr && !err.message.includes(stderr.slice(-200)) ? `; stderr: ${stderr.slice(-2000)}` : '';
      const via = this.opts.launcher ? ` through ${launcherName(this.opts.launcher)}` : '';
      throw new PyCtxError('worker_start_failed',
        `worker ${this.pid} of ${this.opts.executable}${via} did not start: ${err.message}${detail}`,
        { exitCode: exit.exitCode, signal: exit.signal, pid: this.pid, cause: e });
    }
  }

  /** Running or queued requests. */
  get busy(): boolean { return this.current !== null || this.queue.length > 0; }
  get running(): boolean { return this.current !== null; }
  get queueLength(): number { return this.queue.length; }

  /** Resident memory from /proc (no round trip); 0 if unavailable. */
  rssBytes(): number {
    if (this.exited) return 0;
    if (this.heartbeat) return this.heartbeat.rssBytes; // remote: as of the last heartbeat
    try {
      const statm = readFileSync(`/proc/${this.pid}/statm`, 'latin1');
      const sp = statm.indexOf(' ');
      return parseInt(statm.slice(sp + 1), 10) * PAGE_SIZE;
    } catch { return 0; }
  }

  /**
   * Queue a request on the main channel. The frame is encoded now, so an oversized
   * request is refused synchronously (frame_too_large) without touching the worker.
   */
  request(job: Job): Promise<unknown> {
    if (this.exited) return Promise.reject(this.deadError());
    // Hot path: the job and its fields object are owned by this call (the pool
    // builds them per request), so they are extended in place rather than copied.
    const live = job as LiveJob;
    const fields = job.fields;
    live.id = this.nextId++;
    fields.id = live.id;
    fields.op = job.op;
    try {
      live.frame = encodeFrame(fields, this.opts.maxFrameBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    live.state = 'queued';
    return new Promise((resolve, reject) => {
      live.resolve = resolve;
      live.reject = reject;
      if (job.signal) {
        if (job.signal.aborted) {
          live.state = 'done';
          reject(new PyCtxError('interrupted', 'request aborted before it started'));
          return;
        }
        live.abortListener = () => this.onAbort(live);
        job.signal.addEventListener('abort', live.abortListener, { once: true });
      }
      if (job.timeoutMs !== undefined && job.timeoutMs > 0 && Number.isFinite(job.timeoutMs)) {
        live.timer = setTimeout(() => this.onTimeout(live), job.timeoutMs);
      }
      if (this.current === null) {
        this.start(live);
        return;
      }
      this.queue.push(live);
      if (job.queueTimeoutMs !== undefined && Number.isFinite(job.queueTimeoutMs)) {
        live.queueTimer = setTimeout(() => {
          if (live.state !== 'queued') return;
          this.settle(live, new PyCtxError('pool_saturated',
            `request waited ${job.queueTimeoutMs} ms for worker ${this.pid} (queueTimeoutMs)`));
        }, job.queueTimeoutMs);
      }
      this.emit('queue');
    });
  }

  /** A query on the control channel, answered while a cell runs; gives up after timeoutMs. */
  control(op: string, fields: Record<string, unknown> = {}, timeoutMs = 5000): Promise<unknown> {
    if (this.exited) return Promise.reject(this.deadError());
    const id = this.nextId++;
    let frame: Buffer;
    try {
      frame = encodeFrame(this.remote ? { ...fields, id, op, [CONTROL_MARK]: true } : { ...fields, id, op }, this.opts.maxFrameBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const entry: { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer?: NodeJS.Timeout } = { resolve, reject };
      if (Number.isFinite(timeoutMs)) {
        entry.timer = setTimeout(() => {
          this.ctrlPending.delete(id);
          reject(new PyCtxError('timeout', `control ${op} got no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.ctrlPending.set(id, entry);
      this.ctrl.write(frame);
    });
  }

  /** Interrupt the running request if (and only if) it is still `job` (or any, when omitted). */
  interrupt(onlyId?: number): boolean {
    const cur = this.current;
    if (this.exited || cur === null || (onlyId !== undefined && cur.id !== onlyId)) return false;
    if (process.platform === 'win32' || this.remote) {
      // A signal to a launcher does not reach its task: the worker's reader thread
      // turns this into KeyboardInterrupt in its main thread.
      this.control(Op.interrupt).catch(() => {});
    } else {
      try { process.kill(this.pid, 'SIGINT'); } catch { return false; }
    }
    return true;
  }

  /** Id of the running request, for interrupt(onlyId). */
  get currentId(): number | undefined { return this.current?.id; }

  /** Kill the process and its process group now (SIGKILL); pending requests reject with `reason` (or worker_crashed). */
  kill(reason?: KillReason): void {
    if (this.exited) return;
    if (reason && !this.killReason) this.killReason = reason;
    if (this.remote) {
      // SIGKILL would leave a scheduler's job allocated (srun never tells slurmctld):
      // SIGTERM lets the launcher end its job or connection; SIGKILL only if it lingers.
      if (!killGroup(this.pid, 'SIGTERM')) { try { this.proc.kill('SIGTERM'); } catch { /* gone */ } }
      const t = setTimeout(() => { if (!killGroup(this.pid, 'SIGKILL')) { try { this.proc.kill('SIGKILL'); } catch { /* gone */ } } }, LAUNCHER_KILL_GRACE_MS);
      void this.closed.then(() => clearTimeout(t));
      return;
    }
    if (killGroup(this.pid, 'SIGKILL')) return;
    try { this.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }

  /** Ask politely (shutdown op), then kill after graceMs. */
  async stop(graceMs = 1000, reason?: KillReason): Promise<WorkerExit> {
    if (this.exited) return this.closed;
    if (reason && !this.killReason) this.killReason = reason;
    this.stopRequested = true;
    if (this.busy) {
      this.kill(reason);
    } else {
      try { this.stdin.write(encodeFrame({ id: this.nextId++, op: Op.shutdown }, this.opts.maxFrameBytes)); } catch { /* ignore */ }
      const t = setTimeout(() => this.kill(reason), this.remote ? Math.max(graceMs, LAUNCHER_STOP_GRACE_MS) : graceMs);
      this.closed.finally(() => clearTimeout(t));
    }
    return this.closed;
  }

  // ---- internals ---------------------------------------------------------------

  private pump(): void {
    if (this.current !== null || this.exited) return;
    const next = this.queue.shift();
    if (!next) { this.emit('busy', false); return; }
    if (next.queueTimer) { clearTimeout(next.queueTimer); next.queueTimer = undefined; }
    this.start(next);
  }

  private start(job: LiveJob): void {
    job.state = 'running';
    this.current = job;
    this.lastMainId = job.id;
    this.stdin.write(job.frame);
    job.onTrace?.('pool.write');
    this.emit('busy', true);
  }

  private onMainFrame(msg: Record<string, unknown>): void {
    if (this.remote && msg.ok !== undefined && this.ctrlPending.has(msg.id as number)) { this.onControlFrame(msg); return; }
    const job = this.current;
    if (job === null || msg.id !== job.id) {
      if (typeof msg.event === 'string' && msg.ok === undefined && msg.event !== Event.inputRequest) {
        // Output of a finished request: a thread or child process of user code printed
        // after the reply. Not an error; the pool hands it on as late output.
        this.emit('lateOutput', msg);
        return;
      }
      // Replies to a request we did not send (or no longer wait for) break the protocol.
      this.protocolBreak(new PyCtxError('protocol_error', `unexpected frame for id ${String(msg.id)} (running ${job?.id ?? 'none'})`));
      return;
    }
    if (typeof msg.event === 'string') {
      if (msg.event === Event.inputRequest) this.onInputRequest(job, msg);
      else if (job.onEvent) {
        try { job.onEvent(msg); } catch (e) { queueMicrotask(() => { throw e; }); }
      }
      return;
    }
    job.onTrace?.('pool.reply');
    if (job.timedOut) {
      this.settle(job, new PyCtxError('timeout', `${job.op} exceeded ${job.timeoutMs} ms and was interrupted`, { pid: this.pid }));
    } else if (msg.ok === true) {
      this.settle(job, undefined, msg.value);
    } else {
      this.settle(job, fromWireError(msg.error, this.pid));
    }
  }

  private onInputRequest(job: LiveJob, msg: Record<string, unknown>): void {
    const req: InputRequest = { prompt: String(msg.prompt ?? ''), password: msg.password === true };
    const reply = (value: string | null, unavailable = false): void => {
      if (this.current !== job || this.exited) return;
      // unavailable: no handler could ever answer (Python raises StdinNotImplementedError, not KeyboardInterrupt)
      const fields = value !== null ? { value } : unavailable ? { cancelled: true, unavailable: true } : { cancelled: true };
      try {
        this.stdin.write(encodeFrame({ id: job.id, op: Op.inputReply, ...fields }, this.opts.maxFrameBytes));
      } catch {
        this.stdin.write(encodeFrame({ id: job.id, op: Op.inputReply, cancelled: true }, this.opts.maxFrameBytes));
      }
    };
    if (!job.onInput) { reply(null, true); return; }
    Promise.resolve()
      .then(() => job.onInput!(req))
      .then(v => reply(typeof v === 'string' ? v : null), () => reply(null));
  }

  private onControlFrame(msg: Record<string, unknown>): void {
    const entry = this.ctrlPending.get(msg.id as number);
    if (!entry) return; // answer after we gave up (budget elapsed): drop it
    this.ctrlPending.delete(msg.id as number);
    if (entry.timer) clearTimeout(entry.timer);
    if (msg.ok === true) entry.resolve(msg.value);
    else entry.reject(fromWireError(msg.error, this.pid));
  }

  private onTimeout(job: LiveJob): void {
    if (job.state === 'queued') {
      this.settle(job, new PyCtxError('timeout', `${job.op} timed out after ${job.timeoutMs} ms while queued; it never ran`));
      return;
    }
    if (job.state !== 'running' || this.current !== job) return;
    job.timedOut = true;
    this.interrupt(job.id);
    // The worker only honours SIGINT inside user code, so a signal that lands just
    // before the code starts is dropped: repeat it (still only for this request)
    // until the grace period ends, then kill.
    const deadline = Date.now() + this.opts.interruptGraceMs;
    const again = (): void => {
      if (this.current !== job || job.state !== 'running') return;
      if (Date.now() >= deadline) {
        this.kill({ code: 'timeout', message: `${job.op} ignored SIGINT for ${this.opts.interruptGraceMs} ms after its timeout; worker killed` });
        return;
      }
      this.interrupt(job.id);
      job.graceTimer = setTimeout(again, Math.min(100, Math.max(1, deadline - Date.now())));
    };
    job.graceTimer = setTimeout(again, Math.min(100, this.opts.interruptGraceMs));
  }

  private onAbort(job: LiveJob): void {
    if (job.state === 'queued') {
      this.settle(job, new PyCtxError('interrupted', 'request aborted while queued; it never ran'));
    } else if (job.state === 'running') {
      this.interrupt(job.id);
    }
  }

  private settle(job: LiveJob, err?: unknown, value?: unknown): void {
    if (job.state === 'done') return;
    const wasRunning = job.state === 'running';
    job.state = 'done';
    if (job.timer) clearTimeout(job.timer);
    if (job.queueTimer) clearTimeout(job.queueTimer);
    if (job.graceTimer) clearTimeout(job.graceTimer);
    if (job.abortListener) job.signal!.removeEventListener('abort', job.abortListener);
    if (wasRunning) {
      if (this.current === job) this.current = null;
    } else {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
    }
    if (err !== undefined) job.reject(err);
    else job.resolve(value);
    if (wasRunning) this.pump();
    else this.emit('queue');
  }

  private protocolBreak(e: unknown): void {
    if (this.exited) return;
    const msg = e instanceof Error ? e.message : String(e);
    this.kill({ code: 'protocol_error', message: `protocol break: ${msg}` });
  }

  private deadError(): PyCtxError {
    const x = this.exitInfo;
    return new PyCtxError('worker_crashed', `worker ${this.pid} has exited (code ${x?.exitCode ?? '?'}, signal ${x?.signal ?? 'none'})`,
      { exitCode: x?.exitCode ?? null, signal: x?.signal ?? null, pid: this.pid });
  }

  private onExit(exitCode: number | null, signal: string | null): void {
    if (this.exited) return;
    this.exited = true;
    this.heartbeat?.stop();
    // However it ended (shutdown, crash, kill): what its user code started ends too.
    // The group id cannot be reused while the group still has members.
    launcherGroups.delete(this.pid);
    if (liveGroups.delete(this.pid)) killGroup(this.pid, this.remote ? 'SIGTERM' : 'SIGKILL');
    const { report, rest } = splitFaultReport(this.stderrTail);
    const info: WorkerExit = { exitCode, signal, reason: this.killReason, stderr: this.stderrTail };
    if (this.remote && !this.killReason && !this.stopRequested) info.message = this.crashMessage(exitCode, signal, 'ended');
    this.exitInfo = info;
    const detail = report ? report.slice(0, report.indexOf('\n')) : rest.slice(-500);
    const crash = (): PyCtxError => {
      const r = this.killReason;
      const said = this.remote ? this.launcherSaid() : '';
      const message = r ? r.message + (said ? `; ${launcherName(this.opts.launcher!)} said: ${said}` : '')
        : this.remote ? this.crashMessage(exitCode, signal, 'ended')
          : `worker ${this.pid} exited (code ${exitCode}, signal ${signal ?? 'none'})${detail ? `: ${detail}` : ''}`;
      return new PyCtxError(r?.code ?? 'worker_crashed', message, { exitCode, signal, pid: this.pid, reason: r?.reason });
    };
    const leftovers = this.pipes?.drainAndClose() ?? [];
    this.pipes = undefined;
    if (report) leftovers.push({ name: 'stderr', text: report });
    this.deliverLeftovers(leftovers);
    const cur = this.current;
    if (cur) {
      this.current = null;
      const err = cur.timedOut
        ? new PyCtxError('timeout', `${cur.op} exceeded ${cur.timeoutMs} ms; worker killed`, { exitCode, signal, pid: this.pid })
        : crash();
      cur.state = 'running';
      this.settleDead(cur, err);
    }
    for (const job of this.queue.splice(0)) this.settleDead(job, crash());
    for (const [, entry] of this.ctrlPending) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(crash());
    }
    this.ctrlPending.clear();
    this.emit('exit', info);
    this.resolveClosed(info);
  }

  /**
   * Output a dead worker left behind goes to the request that was running, as its
   * last stream events before the crash error; with none running, to the last one as
   * late output. Not after a stop or kill we asked for: that output's owner is gone.
   */
  private deliverLeftovers(leftovers: LeftoverStream[]): void {
    const cur = this.current;
    const lateId = this.stopRequested || this.killReason ? undefined : this.lastMainId;
    for (const { name, text } of leftovers) {
      if (cur) {
        if (!cur.onEvent) return;
        try { cur.onEvent({ id: cur.id, event: Event.stream, name, text }); } catch (e) { queueMicrotask(() => { throw e; }); }
      } else if (lateId !== undefined) {
        this.emit('lateOutput', { id: lateId, event: Event.stream, name, text });
      }
    }
  }

  /**
   * Why a remote worker is gone, in the launcher's words: srun exits 0 after a node
   * failure, so the exit status alone says nothing; the tail of its stderr does.
   */
  private crashMessage(exitCode: number | null, signal: string | null, what: string): string {
    const name = launcherName(this.opts.launcher!);
    const status = exitCode === null && signal === null ? '' : ` (exit status ${exitCode ?? signal})`;
    const said = this.launcherSaid();
    return `${name} ${what} without the worker's goodbye${status}${said ? `: ${said}` : ''}`;
  }

  /** The launcher's last stderr lines, on one line. */
  private launcherSaid(): string {
    return this.stderrTail.trim().split(/\r?\n/).slice(-3).join(' | ').slice(-500);
  }

  private settleDead(job: LiveJob, err: PyCtxError): void {
    if (job.state === 'done') return;
    job.state = 'done';
    if (job.timer) clearTimeout(job.timer);
    if (job.queueTimer) clearTimeout(job.queueTimer);
    if (job.graceTimer) clearTimeout(job.graceTimer);
    if (job.signal && job.abortListener) job.signal.removeEventListener('abort', job.abortListener);
    job.reject(err);
  }
}

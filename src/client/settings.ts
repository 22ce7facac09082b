// Maps the `pyctx.*` settings to the server's options (lsp.ts ServerOptions) and
// says which change needs what. Pure reading; client.ts acts on changes:
//  - RESTART_SETTINGS need a new pool (interpreter, size, warm set, preload,
//    memory limit, affinity, ipython: the pool fixes them at start), so a new server;
//  - LIVE_SETTINGS are sent to the running server (`pyctx/configure`), no restart;
//  - pyctx.interrupt.graceSeconds and pyctx.refs.confirmReleaseBytes are read by
//    the kernel/views each time they are used: nothing to do.
import * as vscode from 'vscode';
import type { AffinityMode, LiveOptions, ServerOptions } from '../protocol/lsp';

/** Settings whose change needs a new pool (a server restart). */
export const RESTART_SETTINGS = ['pyctx.python', 'pyctx.pool.size', 'pyctx.pool.warm', 'pyctx.pool.preload', 'pyctx.worker.memoryLimitMB', 'pyctx.worker.launcher', 'pyctx.affinity', 'pyctx.ipython', 'pyctx.pool.idleShutdownMinutes'] as const;
/** Settings the running server applies (pyctx/configure). */
export const LIVE_SETTINGS = ['pyctx.output.maxBytes', 'pyctx.refs.ttlSeconds', 'pyctx.refs.maxPerSession'] as const;
/** Every setting the server reads. */
export const SERVER_SETTINGS = [...RESTART_SETTINGS, ...LIVE_SETTINGS] as const;

export function readServerOptions(config: vscode.WorkspaceConfiguration = vscode.workspace.getConfiguration()): ServerOptions {
  const num = (key: string): number | undefined => {
    const v = config.get<unknown>(key);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const preload = config.get<unknown>('pyctx.pool.preload');
  const affinity = config.get<unknown>('pyctx.affinity');
  const ipython = config.get<unknown>('pyctx.ipython');
  const launcher = config.get<unknown>('pyctx.worker.launcher');
  const ttl = num('pyctx.refs.ttlSeconds');
  return {
    poolSize: num('pyctx.pool.size'),
    warm: num('pyctx.pool.warm'),
    preload: Array.isArray(preload) ? preload.filter((m): m is string => typeof m === 'string' && m.length > 0) : undefined,
    memoryLimitMB: num('pyctx.worker.memoryLimitMB'),
    launcher: Array.isArray(launcher) && launcher.length > 0 && launcher.every(a => typeof a === 'string') ? launcher as string[] : undefined,
    affinity: affinity === 'strict_queue' || affinity === 'strict_fail_fast' || affinity === 'hint' ? (affinity as AffinityMode) : undefined,
    ipython: ipython === 'auto' || ipython === 'off' ? ipython : undefined,
    refTtlSeconds: ttl === undefined ? undefined : ttl > 0 ? ttl : null,
    maxRefsPerSession: num('pyctx.refs.maxPerSession'),
    outputMaxBytes: num('pyctx.output.maxBytes'),
    idleShutdownMinutes: num('pyctx.pool.idleShutdownMinutes'),
  };
}

/** The live subset, as pyctx/configure takes it. A value the server would refuse
 *  (0, negative, fractional) is left out, i.e. the default, as at server start. */
export function liveOptions(o: ServerOptions): LiveOptions {
  const posInt = (v: number | undefined): number | undefined => (v !== undefined && Number.isInteger(v) && v > 0 ? v : undefined);
  return { outputMaxBytes: posInt(o.outputMaxBytes), refTtlSeconds: o.refTtlSeconds ?? null, maxRefsPerSession: posInt(o.maxRefsPerSession) };
}

/** The restart-needing settings this change touches (empty: none). */
export function restartSettingsChanged(e: vscode.ConfigurationChangeEvent): string[] {
  return RESTART_SETTINGS.filter(s => e.affectsConfiguration(s));
}

export function affectsLive(e: vscode.ConfigurationChangeEvent): boolean {
  return LIVE_SETTINGS.some(s => e.affectsConfiguration(s));
}

// Maps the `pyctx.*` settings to the server's initializationOptions
// (lsp.ts ServerOptions). Pure reading; client.ts restarts the server when any of
// SERVER_SETTINGS changes, since a pool is configured once at start.
import * as vscode from 'vscode';
import type { AffinityMode, ServerOptions } from '../protocol/lsp';

/** Settings whose change requires a server restart. */
export const SERVER_SETTINGS = [
  'pyctx.python', 'pyctx.pool.size', 'pyctx.pool.warm', 'pyctx.pool.preload', 'pyctx.affinity',
  'pyctx.refs.ttlSeconds', 'pyctx.refs.maxPerSession', 'pyctx.output.maxBytes',
] as const;

export function readServerOptions(config: vscode.WorkspaceConfiguration = vscode.workspace.getConfiguration()): ServerOptions {
  const num = (key: string): number | undefined => {
    const v = config.get<unknown>(key);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const preload = config.get<unknown>('pyctx.pool.preload');
  const affinity = config.get<unknown>('pyctx.affinity');
  const ttl = num('pyctx.refs.ttlSeconds');
  return {
    poolSize: num('pyctx.pool.size'),
    warm: num('pyctx.pool.warm'),
    preload: Array.isArray(preload) ? preload.filter((m): m is string => typeof m === 'string' && m.length > 0) : undefined,
    affinity: affinity === 'strict_queue' || affinity === 'strict_fail_fast' || affinity === 'hint' ? (affinity as AffinityMode) : undefined,
    refTtlSeconds: ttl === undefined ? undefined : ttl > 0 ? ttl : null,
    maxRefsPerSession: num('pyctx.refs.maxPerSession'),
    outputMaxBytes: num('pyctx.output.maxBytes'),
  };
}

export function affectsServer(e: vscode.ConfigurationChangeEvent): boolean {
  return SERVER_SETTINGS.some(s => e.affectsConfiguration(s));
}

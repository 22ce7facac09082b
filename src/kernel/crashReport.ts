// How a cell's run that failed outside the cell's own code is reported: a dead worker
// (the cause in plain words: "killed by SIGKILL", "segmentation fault", "exit code 3",
// never "code null"; the notice on the cell wrapped into short lines, since the error
// renderer does not wrap; a notification naming the notebook with Restart and Show
// Output actions), a context ended under the cell, and a request that failed before
// producing a result (named like a Python exception, with the server's sentence).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorCode } from '../client';
import type { ExecuteResult } from '../protocol/lsp';
import { errorOutput } from './mime';

const SIGNAL_WORDS: Record<string, string> = {
  SIGKILL: 'killed by SIGKILL',
  SIGSEGV: 'segmentation fault (SIGSEGV)',
  SIGABRT: 'aborted (SIGABRT)',
  SIGBUS: 'bus error (SIGBUS)',
  SIGFPE: 'arithmetic fault (SIGFPE)',
  SIGILL: 'illegal instruction (SIGILL)',
  SIGTERM: 'terminated by SIGTERM',
  SIGINT: 'interrupted by SIGINT',
  SIGHUP: 'hung up (SIGHUP)',
};

/** The cause of a worker's exit in plain words. */
export function describeExit(exitCode: number | null, signal: string | null): string {
  if (signal) return SIGNAL_WORDS[signal] ?? `killed by ${signal}`;
  if (exitCode !== null) {
    // A launcher (shell, srun) reports a signal death as 128 + n.
    const bySignal = exitCode > 128 && exitCode < 160 ? SIGNAL_BY_NUMBER[exitCode - 128] : undefined;
    return bySignal ? `exit code ${exitCode}, ${SIGNAL_WORDS[bySignal] ?? bySignal}` : `exit code ${exitCode}`;
  }
  return 'it stopped without an exit status';
}

const SIGNAL_BY_NUMBER: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

/** Breaks text into lines of at most `width` characters at spaces (long words stay whole). */
export function wrapText(text: string, width = 72): string {
  return text.split('\n').map(line => {
    const out: string[] = [];
    let cur = '';
    for (const word of line.split(' ')) {
      if (cur && cur.length + 1 + word.length > width) { out.push(cur); cur = word; } else cur = cur ? `${cur} ${word}` : word;
    }
    out.push(cur);
    return out.join('\n');
  }).join('\n');
}

export interface CrashActions {
  restart(): Promise<unknown>;
  showOutput(): void;
}

/** The notification for a notebook whose worker died; resolves when the user chose (or dismissed). */
export async function notifyCrash(notebook: vscode.NotebookDocument, cause: string, actions: CrashActions): Promise<void> {
  const name = path.basename(notebook.uri.path);
  const choice = await vscode.window.showErrorMessage(
    `pyctx: the Python worker of ${name} died (${cause}). Its variables are lost; outputs are kept.`,
    'Restart', 'Show Output');
  if (choice === 'Restart') await actions.restart();
  else if (choice === 'Show Output') actions.showOutput();
}

/**
 * The "state lost" notice on the cell that was running: a worker that died
 * (exit code / signal), or a context ended under the cell (restart, unbind).
 */
export function crashOutput(crash: NonNullable<ExecuteResult['crash']>, restartedHere: boolean): vscode.NotebookCellOutput {
  if (restartedHere) {
    return errorOutput('Restarted', 'The context was restarted while this cell ran; state lost.', []);
  }
  if (crash.exitCode === null && crash.signal === null) {
    const text = `This cell was stopped: ${crash.message || 'its context ended'}; state lost. The next run starts a fresh context.`;
    return errorOutput('ContextEnded', text, []);
  }
  const how = describeExit(crash.exitCode, crash.signal);
  const text = wrapText(`The Python worker running this notebook died (${how}).\nNotebook state lost; the next run starts a fresh context.`);
  // The pool's own message says "exited (code null, signal ...)": the cause above says it better.
  const detail = crash.message && !/exited \(code [^)]*\)$/.test(crash.message) ? [crash.message] : [];
  return errorOutput('WorkerCrashed', text, [`WorkerCrashed: ${text}`, ...detail]);
}

/** A request that failed before producing a result (no Python, pool exhausted, server gone). */
export function requestErrorOutput(err: unknown): vscode.NotebookCellOutput {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  // Named like a Python exception (no_workers_available → NoWorkersAvailable); the message says what to do.
  const name = code ? code.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase()) : 'PyctxError';
  return errorOutput(name, message, []);
}

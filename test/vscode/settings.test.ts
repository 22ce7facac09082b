// Settings changes inside a real VS Code never drop a notebook's state silently:
// the output cap and the ref limits apply live (same worker, same variables; the
// bound worker prunes its refs to the new limit), while a setting that needs a new
// pool (pyctx.pool.size) asks first when a notebook is bound: Later keeps
// everything, Restart now restarts (state gone, the next run binds fresh); the
// memory limit reaches the new pool's workers.
// Settings are user (global) settings in the harness: every test restores its own.
// Only the warning/information popups are stubbed (UI); the server and workers are real.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { closeAllEditors, outputItems, waitFor } from './support/notebook';
import { STDERR, closeNotebook, describe as describeNb, errorOf, openCells, pyctxApi, run, start, textOf, waitForStdout } from './support/kernel';
import type { PyctxExtensionApi } from '../../src/api';

let api: PyctxExtensionApi;
const TRUNCATED = '[pyctx] output truncated';

function setSetting(key: string, value: unknown): Thenable<void> {
  return vscode.workspace.getConfiguration('pyctx').update(key, value, vscode.ConfigurationTarget.Global);
}

/** Replaces window.showWarningMessage / showInformationMessage for one test: records, answers `answer`. */
function stubPopups(answer: string | undefined): { warnings: string[]; infos: string[]; restore(): void } {
  const w = vscode.window as { showWarningMessage: unknown; showInformationMessage: unknown };
  const original = { warn: w.showWarningMessage, info: w.showInformationMessage };
  const warnings: string[] = [];
  const infos: string[] = [];
  w.showWarningMessage = async (message: string) => { warnings.push(message); return answer; };
  w.showInformationMessage = async (message: string) => { infos.push(message); return undefined; };
  return { warnings, infos, restore: () => { w.showWarningMessage = original.warn; w.showInformationMessage = original.info; } };
}

/** The question's text for `n` bound notebooks. */
function question(setting: string, n: number): string {
  return `Restart the pyctx pool to apply ${setting}? ${n === 1 ? '1 notebook will lose its state' : `${n} notebooks will lose their state`}.`;
}

async function sessionOf(ed: vscode.NotebookEditor) {
  return (await api.pool.sessions()).find(s => s.notebookUri === ed.notebook.uri.toString());
}

/** Waits until the pool server runs none of `pids` (it was restarted) and answers again. */
function restartedFrom(pids: number[]): Promise<unknown> {
  return waitFor('the pool server to restart', async () => {
    try { return (await api.pool.stats()).workers.every(w => !pids.includes(w.pid)); } catch { return false; }
  }, 30_000);
}

/** The held results (`_N`) of the notebook's session, by name. */
async function resultsOf(sessionId: string): Promise<string[]> {
  return (await api.refs.list(sessionId)).refs.filter(r => r.kind === 'result').map(r => r.name ?? '').sort();
}

suite('settings: live apply vs restart', function () {
  this.timeout(120_000);
  suiteSetup(async () => { api = await pyctxApi(); });
  teardown(closeAllEditors);

  test('pyctx.output.maxBytes applies to the next cells; the state and the worker stay', async () => {
    const ed = await openCells('cap.ipynb', ['x = 41', 'print("y" * 5000)', 'x + 1']);
    await run(ed, 0);
    const before = await sessionOf(ed);
    assert.ok(before, 'bound');
    assert.ok(!textOf(await run(ed, 1), STDERR).includes(TRUNCATED), describeNb(ed.notebook));
    try {
      await setSetting('output.maxBytes', 2048);
      // The change reaches the server asynchronously: rerun until the cap shows (no restart in between).
      const items = await waitFor('the new cap to truncate the print', async () => {
        const out = await run(ed, 1);
        return textOf(out, STDERR).includes(TRUNCATED) ? out : undefined;
      }, 20_000);
      assert.match(textOf(items, STDERR), /exceeded 2\.0 KiB/, describeNb(ed.notebook));
      assert.equal(textOf(await run(ed, 2), 'text/plain'), '42', `state kept: ${describeNb(ed.notebook)}`);
      const after = await sessionOf(ed);
      assert.equal(after?.pid, before.pid, 'same worker');
      assert.equal(after?.sessionId, before.sessionId, 'same session');
    } finally {
      await setSetting('output.maxBytes', undefined);
      await closeNotebook(ed.notebook);
    }
  });

  test('pyctx.refs.maxPerSession reaches the bound worker: its held results are pruned to the new limit', async () => {
    const ed = await openCells('refs.ipynb', ['x = 41', '1', '2', '3', '4', 'x + 1']);
    for (let i = 0; i < 5; i++) await run(ed, i);
    const s = await sessionOf(ed);
    assert.ok(s, 'bound');
    assert.deepEqual(await resultsOf(s.sessionId), ['_2', '_3', '_4', '_5']);
    try {
      await setSetting('refs.maxPerSession', 2);
      const kept = await waitFor('the worker to keep 2 results', async () => {
        const r = await resultsOf(s.sessionId);
        return r.length === 2 ? r : undefined;
      }, 20_000);
      assert.deepEqual(kept, ['_4', '_5'], 'the oldest went first');
      assert.equal(textOf(await run(ed, 5), 'text/plain'), '42', describeNb(ed.notebook));
      assert.deepEqual(await resultsOf(s.sessionId), ['_5', '_6'], 'new results are held under the new limit');
      assert.equal((await sessionOf(ed))?.pid, s.pid, 'same worker');
    } finally {
      await setSetting('refs.maxPerSession', undefined);
      await closeNotebook(ed.notebook);
    }
  });

  test('pyctx.worker.memoryLimitMB reaches new workers: a runaway allocation is a MemoryError, the state stays', async function () {
    if (process.platform !== 'linux') this.skip();
    const popups = stubPopups('Restart now');   // in case another suite left a notebook bound
    const ed = await openCells('memory.ipynb', ['kept = 41', 'big = bytearray(2 << 30)', 'kept + 1']);
    try {
      const pids = (await api.pool.stats()).workers.map(w => w.pid);
      await setSetting('worker.memoryLimitMB', 512);
      await restartedFrom(pids);
      await run(ed, 0);
      const err = errorOf(await run(ed, 1));
      assert.equal(err?.name, 'MemoryError', describeNb(ed.notebook));
      assert.equal(textOf(await run(ed, 2), 'text/plain'), '42', `state kept: ${describeNb(ed.notebook)}`);
    } finally {
      const pids = (await api.pool.stats()).workers.map(w => w.pid);
      await setSetting('worker.memoryLimitMB', undefined);
      await restartedFrom(pids);
      popups.restore();
      await closeNotebook(ed.notebook);
    }
  });

  test('pyctx.worker.launcher: workers start through it; interrupt is in-band; a crash shows the launcher\'s words in the cell', async function () {
    this.timeout(600_000);  // two pool restarts and four cells, on a machine that may be loaded
    // `env` forwards stdio and runs its command, as srun and ssh do (those run in test/cluster).
    // Each step has its own deadline, so a hang names the step.
    const within = <T>(what: string, p: Thenable<T>, ms = 150_000): Promise<T> => Promise.race([
      Promise.resolve(p), new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))]);
    const popups = stubPopups('Restart now');
    const ed = await within('open the notebook', openCells('launcher.ipynb', [
      'import os\nkept = os.environ.get("PYCTX_INBAND")', 'print("looping", flush=True)\nwhile True: pass', 'kept', 'os._exit(0)',
    ]));
    try {
      // Bound first, so the restart is asked for and its end is visible (the old workers gone).
      await within('cell 0 on local workers', run(ed, 0, 140_000));
      const pids = (await within('pool stats', api.pool.stats())).workers.map(w => w.pid);
      await within('set the launcher', setSetting('worker.launcher', ['env']));
      await restartedFrom(pids);
      await within('cell 0', run(ed, 0, 140_000));
      await within('start cell 1', start(ed, 1));
      await waitForStdout(ed.notebook.cellAt(1), 'looping', 60_000);
      assert.deepEqual(await within('interrupt', vscode.commands.executeCommand('pyctx.interrupt', ed.notebook.uri)), { interrupted: true });
      await waitFor(`the loop to stop (${describeNb(ed.notebook)})`, () => ed.notebook.cellAt(1).executionSummary?.success === false, 30_000);
      assert.equal(errorOf(outputItems(ed.notebook.cellAt(1)))?.name, 'KeyboardInterrupt', describeNb(ed.notebook));
      assert.equal(textOf(await within('cell 2', run(ed, 2)), 'text/plain'), "'1'", `the worker runs in-band, state kept: ${describeNb(ed.notebook)}`);
      const crash = errorOf(await within('cell 3', run(ed, 3)));
      assert.equal(crash?.name, 'WorkerCrashed', describeNb(ed.notebook));
      assert.match(crash?.stack ?? '', /env ended without the worker's goodbye \(exit status 0\)/, describeNb(ed.notebook));
    } finally {
      const pids = (await within('pool stats', api.pool.stats())).workers.map(w => w.pid);
      await within('reset the launcher', setSetting('worker.launcher', undefined));
      await restartedFrom(pids);
      popups.restore();
      await closeNotebook(ed.notebook);
    }
  });

  test('pyctx.pool.size with a bound notebook asks first; Later keeps the state and says when it applies', async () => {
    const ed = await openCells('later.ipynb', ['x = 41', 'x + 1']);
    await run(ed, 0);
    const before = await sessionOf(ed);
    const stats = await api.pool.stats();
    const bound = (await api.pool.sessions()).length;   // this one, and any another suite left bound
    const popups = stubPopups('Later');
    try {
      await setSetting('pool.size', stats.size + 1);
      await waitFor('the restart question', () => popups.warnings.length > 0, 10_000);
      assert.deepEqual(popups.warnings, [question('pyctx.pool.size', bound)]);
      await waitFor('the note that it applies at the next start', () => popups.infos.length > 0, 10_000);
      assert.match(popups.infos[0], /pyctx\.pool\.size will apply when the pool server next starts/);
      assert.equal(textOf(await run(ed, 1), 'text/plain'), '42', `state kept: ${describeNb(ed.notebook)}`);
      assert.equal((await sessionOf(ed))?.pid, before?.pid, 'same worker');
      assert.equal((await api.pool.stats()).size, stats.size, 'the running pool is unchanged');
      // Setting it back to what the server runs with needs nothing: no second question.
      await setSetting('pool.size', undefined);
      assert.equal(textOf(await run(ed, 1), 'text/plain'), '42');
      assert.equal(popups.warnings.length, 1, popups.warnings.join('\n'));
    } finally {
      popups.restore();
      await setSetting('pool.size', undefined);
      await closeNotebook(ed.notebook);
    }
  });

  test('pyctx.pool.size with a bound notebook: Restart now restarts the pool (state gone, the next run binds fresh)', async () => {
    const ed = await openCells('now.ipynb', ['x = 41', 'x + 1']);
    await run(ed, 0);
    const before = await api.pool.stats();
    const size = before.size === 2 ? 3 : 2;
    const bound = (await api.pool.sessions()).length;
    const popups = stubPopups('Restart now');
    try {
      await setSetting('pool.size', size);
      await waitFor('the restart question', () => popups.warnings.length > 0, 10_000);
      assert.deepEqual(popups.warnings, [question('pyctx.pool.size', bound)]);
      await restartedFrom(before.workers.map(w => w.pid));
      await waitFor('the new pool size', async () => { try { return (await api.pool.stats()).size === size; } catch { return false; } }, 30_000);
      await waitFor('the kernel to be forgotten', async () => (await api.getKernel(ed.notebook.uri)) === undefined, 10_000);
      const err = errorOf(await run(ed, 1));
      assert.equal(err?.name, 'NameError', `state is gone, the run works: ${describeNb(ed.notebook)}`);
      assert.equal(ed.notebook.cellAt(1).executionSummary?.executionOrder, 1, 'a fresh context counts from 1');
      assert.equal(popups.infos.length, 0, 'no "applies later" note');
    } finally {
      await closeNotebook(ed.notebook);
      const pids = (await api.pool.stats().catch(() => ({ workers: [] }))).workers.map(w => w.pid);
      await setSetting('pool.size', undefined);   // restarts again (at once, or 'Restart now' if still bound)
      await restartedFrom(pids);
      popups.restore();
      await waitFor('the default pool size again', async () => { try { return (await api.pool.stats()).size === before.size; } catch { return false; } }, 30_000);
    }
  });

  test('a restart under a running cell: that cell says so in plain words; a cell run during the restart waits and runs on the new pool', async () => {
    const ed = await openCells('cut.ipynb', ['import time\ntime.sleep(60)', 'y = 2\ny', 'x = 1']);
    await run(ed, 2);
    const before = await api.pool.stats();
    const size = before.size === 2 ? 3 : 2;
    const popups = stubPopups('Restart now');
    try {
      await start(ed, 0);
      await waitFor('the sleeping cell to run', async () => (await sessionOf(ed))?.state === 'running', 20_000);
      // Requests made all through the restart (every 5 ms, as the views and the status bar
      // may) wait for the new server; none reaches the connection the restart closes
      // ("Client is not running", "connection got disposed").
      const failures: string[] = [];
      let polling = true;
      const calls: Promise<unknown>[] = [];
      const poll = (async () => {
        while (polling) {
          calls.push(api.pool.stats().catch(e => failures.push(String(e?.message ?? e))));
          await new Promise(r => setTimeout(r, 5));
        }
      })();
      await setSetting('pool.size', size);
      await waitFor('the restart question', () => popups.warnings.length > 0, 10_000);
      // Right as the restart begins: this cell waits for the new server as well.
      const items = await run(ed, 1);
      await waitFor('the new pool', async () => (await api.pool.stats()).size === size, 30_000);
      polling = false;
      await poll;
      await Promise.all(calls);
      assert.deepEqual(failures, [], `${calls.length} requests during the restart`);
      assert.equal(textOf(items, 'text/plain'), '2', describeNb(ed.notebook));
      assert.equal(ed.notebook.cellAt(1).executionSummary?.executionOrder, 1, 'on a fresh context');
      await waitFor('the cut-off cell to end', () => ed.notebook.cellAt(0).executionSummary?.success !== undefined, 30_000);
      const cut = ed.notebook.cellAt(0);
      assert.equal(cut.executionSummary?.success, false, describeNb(ed.notebook));
      const err = errorOf(outputItems(cut));
      assert.ok(err, describeNb(ed.notebook));
      console.log(`    the cut-off cell: ${err.name}: ${err.message}`);
      assert.match(`${err.name}: ${err.message}`, /state/i, 'says that the state is gone');
      assert.doesNotMatch(`${err.name}: ${err.message}`, /disposed|not running|code null/i, 'not the transport\'s words');
    } finally {
      await closeNotebook(ed.notebook);
      const pids = (await api.pool.stats().catch(() => ({ workers: [] }))).workers.map(w => w.pid);
      await setSetting('pool.size', undefined);
      await restartedFrom(pids);
      popups.restore();
      await waitFor('the default pool size again', async () => { try { return (await api.pool.stats()).size === before.size; } catch { return false; } }, 30_000);
    }
  });
});

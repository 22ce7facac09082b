// The editor never strands the user, clicked through in the real VS Code UI
// (code-server + chromium, pyctx installed, notifications and dialogs shown):
//  - Close → Don't Save, Close All → Don't Save, Save then Close: the worker is released;
//  - Unbind from the notebook toolbar asks first;
//  - kill -9 of an idle worker: a notification naming the notebook and the cause;
//  - completion items carry kinds; signature help opens on `(`.
// Screenshots of these states: PYCTX_UI_SHOTS=docs node --test test/ui/editor.test.mjs
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runAll, waitForIdle, waitForOutputs } from '../../scripts/vscode/ui.mjs';
import { answerDialog, clickAndAnswer, closeActiveTab, notebook, openNotebook, poolItem, runCommand, screenshot, startWindow, toast, waitForPool } from './support.mjs';

const GRACE_S = 5;
let w;
let failed = false;

describe('editor UI: workers follow tabs, state loss is asked, crashes are reported, editing help', () => {
  before(async () => {
    w = await startWindow({
      files: {
        'a.ipynb': notebook(['x = 41\nprint("ran a")']),
        'b.ipynb': notebook(['y = 2\nprint("ran b")']),
        'crash.ipynb': notebook(['import os\nprint("worker pid", os.getpid())']),
        'edit.ipynb': notebook(['import os\ndef shout(word, times=2):\n    "Say it louder."\n    return word\nprint("defined")', '']),
        ...Object.fromEntries([1, 2, 3, 4, 5].map(i => [`f${i}.ipynb`, notebook([`print("ran f${i}")`])])),
      },
      // Word-based suggestions off: the completion list is pyctx's alone.
      settings: { 'pyctx.releaseClosedAfterSeconds': GRACE_S, 'pyctx.pool.size': 4, 'editor.wordBasedSuggestions': 'off' },
    });
    // pyctx activates with the first notebook (or when VS Code finds notebooks in the workspace).
    try { await openNotebook(w.page, 'a.ipynb'); await waitForPool(w.page, /^0\/4/, 180_000); } catch (e) { failed = true; throw e; }
  });
  after(async () => { await w?.stop(failed); });

  /** Opens a notebook, selects pyctx, Run All, and waits until its outputs show `texts`. */
  const openAndRun = async (page, name, texts) => {
    await openNotebook(page, name);
    await runAll(page);
    await waitForOutputs(page, texts);
  };

  // A failing step leaves a screenshot of the moment it failed (the run dir is kept).
  let stepNo = 0;
  const step = (name, fn) => test(name, async () => {
    const n = ++stepNo;
    try { await fn(w.page); } catch (e) {
      failed = true;
      await w.page.screenshot({ path: path.join(w.runDir, `failed-step-${n}.png`) }).catch(() => undefined);
      throw e;
    }
  });

  step('Close → Don\'t Save releases the worker', async page => {
    await openAndRun(page, 'a.ipynb', ['ran a']);
    await waitForPool(page, /^1\/4/);
    await closeActiveTab(page);
    await answerDialog(page, 'a.ipynb', "Don't Save");
    await waitForPool(page, /^0\/4/, (GRACE_S + 30) * 1000);
  });

  step('Close All → Don\'t Save releases every worker', async page => {
    await openAndRun(page, 'a.ipynb', ['ran a']);
    await openAndRun(page, 'b.ipynb', ['ran b']);
    await waitForPool(page, /^2\/4/);
    await runCommand(page, 'View: Close All Editors');
    await answerDialog(page, 'save', "Don't Save");
    await waitForPool(page, /^0\/4/, (GRACE_S + 30) * 1000);
  });

  step('Save then Close releases the worker', async page => {
    await openAndRun(page, 'b.ipynb', ['ran b']);
    await waitForPool(page, /^1\/4/);
    // Saved as a user saves: Ctrl+S in the notebook (the run left it dirty: outputs).
    const tab = page.locator('.tabs-container .tab.active').first();
    assert.match(await tab.getAttribute('class'), /\bdirty\b/, 'the run left the notebook dirty');
    await tab.click();
    await page.keyboard.press('Control+S');
    await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: 30_000 });
    await closeActiveTab(page);
    await page.locator('.tabs-container .tab', { hasText: 'b.ipynb' }).waitFor({ state: 'detached', timeout: 15_000 });
    await waitForPool(page, /^0\/4/, (GRACE_S + 30) * 1000);
  });

  step('Unbind from the notebook toolbar asks first; Cancel keeps the worker, Unbind releases it', async page => {
    await openAndRun(page, 'a.ipynb', ['ran a']);
    await waitForPool(page, /^1\/4/);
    const unbind = page.locator('.notebook-toolbar-container >> visible=true').locator('.action-label[aria-label^="Unbind"]').first();
    const text = await clickAndAnswer(page, unbind, 'Unbind a.ipynb?', 'Cancel', 'confirm-unbind.png');
    assert.match(text, /variables are lost/);
    assert.match(text, /Don't Ask Again/);
    await waitForPool(page, /^1\/4/);
    await clickAndAnswer(page, unbind, 'Unbind a.ipynb?', 'Unbind');
    await waitForPool(page, /^0\/4/);
  });

  step('kill -9 of a worker: a notification names the notebook and the cause, with Restart and Show Output', async page => {
    await openAndRun(page, 'crash.ipynb', ['worker pid']);
    await waitForIdle(page);
    const shown = (await Promise.all(page.frames().map(f => f.locator('body').innerText().catch(() => '')))).join('\n');
    const pid = Number(/worker pid (\d+)/.exec(shown)?.[1]);
    assert.ok(pid > 0, shown);
    process.kill(pid, 'SIGKILL');
    const t = await toast(page, 'crash.ipynb');
    const text = await t.innerText();
    assert.match(text, /killed by SIGKILL/);
    assert.doesNotMatch(text, /code null/);
    await t.locator('.monaco-button', { hasText: 'Restart' }).first().waitFor();
    await t.locator('.monaco-button', { hasText: 'Show Output' }).first().waitFor();
    await screenshot(page, 'crash-notification.png');
    await t.locator('.monaco-button', { hasText: 'Restart' }).first().click();
    await waitForPool(page, /^1\/4/);
  });

  step('completion items carry kinds, and signature help opens on (', async page => {
    await openAndRun(page, 'edit.ipynb', ['defined']);
    await waitForIdle(page);
    // Into the empty second cell as a user goes there from the keyboard: click into the
    // first cell, Escape (command mode), Down, Enter (VS Code creates a cell's editor lazily;
    // other open notebooks keep theirs in the page, inert, so the cell is found by its URI).
    await page.locator('.cell-editor-container .monaco-editor[data-uri*="edit.ipynb"]').first().click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.keyboard.type('sh');
    const suggest = page.locator('.suggest-widget .monaco-list-row');
    // pyctx's item (the worker's namespace, a function icon); asked again while the first
    // request of a fresh editor is on its way.
    const row = suggest.filter({ hasText: 'shout' }).filter({ has: page.locator('.codicon-symbol-function') }).first();
    for (let i = 0; i < 20 && !(await row.count()); i++) {
      if (i) await page.keyboard.press('Escape');
      await page.keyboard.press('Control+Space');
      await page.waitForTimeout(1000);
    }
    await row.waitFor({ timeout: 15_000 });
    await screenshot(page, 'completion-kinds.png');
    await page.keyboard.press('Escape');
    await page.keyboard.type('out(');
    const hints = page.locator('.parameter-hints-widget');
    await hints.filter({ hasText: 'shout(word, times=2)' }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'signature-help.png');
    await page.keyboard.press('Escape');
    // Other modules, classes and keywords get their own icons too.
    await page.keyboard.press('Control+A');
    await page.keyboard.type('o');
    await page.keyboard.press('Control+Space');
    await suggest.filter({ hasText: 'os' }).locator('.codicon-symbol-module').first().waitFor({ timeout: 15_000 });
    await page.keyboard.press('Escape');
    assert.match((await poolItem(page).innerText()).trim(), /^\d+\/4/);
  });

  step('five notebooks on a pool of 4: the fifth waits, says so, offers a way out, and runs once a tab closes', async page => {
    await runCommand(page, 'View: Close All Editors');
    await answerDialog(page, 'save', "Don't Save").catch(() => undefined);
    await waitForPool(page, /^0\/4/, (GRACE_S + 30) * 1000);
    for (const i of [1, 2, 3, 4]) {
      await openAndRun(page, `f${i}.ipynb`, [`ran f${i}`]);
      await waitForPool(page, new RegExp(`^${i}/4`));
    }
    await openAndRun(page, 'f5.ipynb', ['waiting for a free worker: 4/4 bound (f1.ipynb, f2.ipynb, f3.ipynb, f4.ipynb)']);
    const t = await toast(page, 'f5.ipynb is waiting for a free worker');
    await t.locator('.monaco-button', { hasText: 'Unbind f1.ipynb' }).first().waitFor();
    await t.locator('.monaco-button', { hasText: 'Raise pool size' }).first().waitFor();
    await screenshot(page, 'full-pool-waiting.png');
    // Close f1's tab (Don't Save): its worker frees and f5 runs.
    await page.locator('.tabs-container .tab', { hasText: 'f1.ipynb' }).first().click();
    await closeActiveTab(page);
    await answerDialog(page, 'f1.ipynb', "Don't Save");
    await page.locator('.tabs-container .tab', { hasText: 'f5.ipynb' }).first().click();
    await waitForOutputs(page, ['ran f5'], (GRACE_S + 60) * 1000);
    await waitForPool(page, /^4\/4/);
  });
});

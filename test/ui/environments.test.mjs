// Click-through test of environments per notebook in the real VS Code UI
// (code-server + chromium, pyctx installed as a user has it, driven by playwright):
// a workspace .venv made with `python -m venv --without-pip` and /usr/bin/python3
// both appear in the notebook's kernel picker as `pyctx: …`; clicking the .venv
// runs the notebook there (its sys.prefix in the output) and the toolbar shows it.
// Screenshots go to the run dir; PYCTX_UI_SHOTS=docs also writes
// docs/environments.png (the open kernel picker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, checkInstall, launchBrowser, linkExtension, prepareRunDir, startCodeServer, waitForWorkbench, workbenchUrl } from '../../scripts/vscode/codeserver.mjs';
import { runAll, waitForIdle, waitForOutputs } from '../../scripts/vscode/ui.mjs';

const notebook = cells => JSON.stringify({
  nbformat: 4, nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, language_info: { name: 'python' } },
  cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source })),
}, null, 1);

test('the kernel picker offers the .venv and /usr/bin/python3; picking the .venv runs the notebook in it', { timeout: 600_000 }, async () => {
  checkInstall();
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/extension.js')), 'run npm run build first');
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyctx-ui-envs.'));
  process.env.TMPDIR = path.join(runDir, 'tmp');
  const fixtures = path.join(runDir, 'fixtures');
  fs.mkdirSync(fixtures);
  fs.writeFileSync(path.join(fixtures, 'envs.ipynb'), notebook(['import sys\nprint("PREFIX", sys.prefix)']));
  const workspace = prepareRunDir(runDir, { fixtures, settings: { 'workbench.colorTheme': 'Default Dark Modern', 'editor.minimap.enabled': false } });
  execFileSync('python3', ['-m', 'venv', '--without-pip', path.join(workspace, '.venv')]);
  linkExtension(runDir, ROOT);
  const server = await startCodeServer(runDir, { devMode: false });
  const { browser, page } = await launchBrowser(runDir, { width: 1280, height: 860 });
  page.setDefaultNavigationTimeout(180_000);
  let failed = true;
  try {
    await page.goto(workbenchUrl(server, { folder: workspace }));
    await waitForWorkbench(page);
    // Open the notebook from the Explorer, as a user clicks it; then hide the side bar.
    // On a loaded machine the ipynb editor may register after the window shows: a file
    // opened before that shows as JSON text, so close it and click again.
    const fileRow = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'envs.ipynb' }).first();
    const toolbar = page.locator('.notebook-toolbar-container');
    for (let attempt = 1; ; attempt++) {
      await fileRow.waitFor({ timeout: 120_000 });
      await fileRow.dblclick();
      if (await toolbar.first().waitFor({ timeout: 30_000 }).then(() => true, () => false)) break;
      assert.ok(attempt < 6, 'envs.ipynb never opened in the notebook editor');
      await page.keyboard.press('Control+W');
      await page.waitForTimeout(5000);
    }
    await page.keyboard.press('Control+B');   // the notebook gets the width

    // Open the kernel picker and go down to pyctx's environments (VS Code may first list sources).
    // pyctx's controllers appear once discovery has run (seconds on a busy machine); a
    // picker opened before then lists only VS Code's own sources, so it is closed and
    // opened again, as a user would.
    const rows = page.locator('.quick-input-list .monaco-list-row');
    const venvRow = rows.filter({ hasText: 'pyctx: .venv' }).first();
    const another = rows.filter({ hasText: /Select Another Kernel|pyctx/ }).first();
    pick: for (let attempt = 1; ; attempt++) {
      await toolbar.locator('.kernel-action-view-item').first().click({ timeout: 60_000 });
      for (let level = 0; level < 3; level++) {
        await rows.first().waitFor({ timeout: 60_000 });
        if (await venvRow.waitFor({ timeout: 15_000 }).then(() => true, () => false)) break pick;
        await page.screenshot({ path: path.join(runDir, `picker-${attempt}-level-${level}.png`) });
        console.log(`ui: picker level ${level}: ${(await rows.allInnerTexts()).map(t => t.replace(/\s+/g, ' ')).join(' | ')}`);
        if (!await another.waitFor({ timeout: 10_000 }).then(() => true, () => false)) break;
        await another.click();
        await page.waitForTimeout(500);
      }
      assert.ok(attempt < 6, `the kernel picker never offered "pyctx: .venv" (rows: ${await rows.allInnerTexts()})`);
      await page.keyboard.press('Escape');
      await page.waitForTimeout(5000);
    }
    // The list is long (every pyenv version too): type to filter, as a user would.
    const filter = page.locator('.quick-input-widget input');
    await filter.fill('/usr/bin');
    const systemRow = rows.filter({ hasText: 'pyctx: Python 3' }).filter({ hasText: '/usr/bin' }).first();
    await systemRow.waitFor({ timeout: 15_000 }).catch(async () =>
      assert.fail(`no /usr/bin/python3 entry among ${await rows.allInnerTexts()}`));
    // Back to the whole list (the .venv's label has no version in it, so a filter such
    // as "3.11" hides it: the kernel picker matches labels only).
    await filter.fill('');
    await venvRow.waitFor({ timeout: 15_000 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(runDir, 'kernel-picker.png') });
    if (process.env.PYCTX_UI_SHOTS === 'docs') await page.screenshot({ path: path.join(ROOT, 'docs', 'environments.png') });
    console.log(`ui: kernel picker rows: ${(await rows.allInnerTexts()).map(t => t.replace(/\s+/g, ' ')).join(' | ')}`);

    await venvRow.click();
    await toolbar.filter({ hasText: 'pyctx: .venv' }).waitFor({ timeout: 30_000 });
    await runAll(page);
    await waitForOutputs(page, [`PREFIX ${path.join(workspace, '.venv')}`], 180_000);
    await waitForIdle(page);
    await page.screenshot({ path: path.join(runDir, 'ran-in-venv.png') });
    failed = false;
  } finally {
    if (failed) await page.screenshot({ path: path.join(runDir, 'failed.png') }).catch(() => undefined);
    await browser.close().catch(() => undefined);
    await server.stop();
    if (!failed && process.env.PYCTX_VSCODE_KEEP !== '1') fs.rmSync(runDir, { recursive: true, force: true });
    else console.log(`ui: run dir kept: ${runDir}`);
  }
});

// Shared steps of the click-through UI tests (test/ui/*.test.mjs): a real VS Code
// (code-server, pyctx installed as a user would have it, toasts and dialogs shown)
// on a workspace of generated notebooks, driven by playwright as a user clicks.
// Screenshots of the states users see go to docs/ when PYCTX_UI_SHOTS=docs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, checkInstall, launchBrowser, linkExtension, prepareRunDir, startCodeServer, waitForWorkbench, workbenchUrl } from '../../scripts/vscode/codeserver.mjs';

/** A notebook file of code cells. */
export function notebook(cells) {
  return JSON.stringify({
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, language_info: { name: 'python' } },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source })),
  }, null, 1);
}

/** Starts VS Code on a workspace holding `files` ({ name: text }); returns the page and stop(). */
export async function startWindow({ files, settings = {}, size = { width: 1280, height: 860 } }) {
  checkInstall();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyctx-ui.'));
  const fixtures = path.join(runDir, 'fixtures');
  fs.mkdirSync(fixtures);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(fixtures, name), text);
  const workspace = prepareRunDir(runDir, { fixtures, settings: { 'workbench.colorTheme': 'Default Dark Modern', 'editor.minimap.enabled': false, ...settings } });
  linkExtension(runDir, ROOT);
  const server = await startCodeServer(runDir, { devMode: false });
  const { browser, page } = await launchBrowser(runDir, size);
  // Every step waits patiently: on a loaded machine a notebook editor takes a minute to appear.
  page.setDefaultTimeout(120_000);
  await page.goto(workbenchUrl(server, { folder: workspace }), { timeout: 180_000, waitUntil: 'domcontentloaded' });
  await waitForWorkbench(page);
  return {
    page, workspace, runDir,
    async stop(failed) {
      if (failed) await page.screenshot({ path: path.join(runDir, 'failed.png') }).catch(() => undefined);
      await browser.close().catch(() => undefined);
      await server.stop();
      if (!failed && process.env.PYCTX_VSCODE_KEEP !== '1') fs.rmSync(runDir, { recursive: true, force: true });
      else console.log(`ui: run dir kept: ${runDir}`);
    },
  };
}

/** The pool status bar item (`$(server-process) bound/total [state]`). */
export const poolItem = page => page.locator('.statusbar-item', { hasText: /^\s*\d+\/\d+/ }).first();

/** Waits until the status bar shows `bound/total` matching `re` (e.g. /^0\/4/). */
export async function waitForPool(page, re, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = (await poolItem(page).innerText().catch(() => '')).trim();
    if (re.test(last)) return last;
    if (Date.now() > deadline) throw new Error(`status bar shows "${last}", not ${re}`);
    await page.waitForTimeout(250);
  }
}

/**
 * Opens a workspace file as a user does: a double click in the Explorer (a pinned tab,
 * not a preview). Quick Open's file search can take minutes on a loaded machine.
 */
export async function openFromExplorer(page, name) {
  const active = page.locator('.tabs-container .tab.active', { has: page.getByText(name, { exact: true }) });
  if (await active.count()) return;
  const row = page.locator('.explorer-folders-view .monaco-list-row').filter({ has: page.getByText(name, { exact: true }) }).first();
  // The Explorer's activity item toggles the side bar: click it only when the bar is closed.
  if (!await page.locator('.part.sidebar').isVisible()) await page.locator('.activitybar .action-item [aria-label^="Explorer"]').first().click();
  await row.waitFor({ timeout: 180_000 });
  await row.dblclick();
  await active.first().waitFor({ timeout: 60_000 });
}

/**
 * Selects the pyctx kernel in the notebook toolbar's picker (patient: a loaded machine
 * takes its time). pyctx has a controller per Python environment, which VS Code may
 * group under "Select Another Kernel…" → "pyctx": each level's pyctx row is clicked
 * (the first, VS Code lists the suggested one first) until the toolbar shows pyctx. A
 * picker opened before discovery listed pyctx's controllers is closed and opened again.
 */
export async function selectPyctx(page) {
  const toolbar = page.locator('.notebook-toolbar-container >> visible=true');
  const chosen = () => toolbar.filter({ hasText: 'pyctx' }).first();
  if (await chosen().waitFor({ timeout: 10_000 }).then(() => true, () => false)) return;
  const picker = page.locator('.quick-input-widget');
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ hasText: /pyctx|Select Another Kernel/ }).first();
  for (let attempt = 1; ; attempt++) {
    await toolbar.locator('.kernel-action-view-item').first().click({ timeout: 180_000 });
    for (let level = 0; level < 3; level++) {
      if (!await row.waitFor({ timeout: 30_000 }).then(() => true, () => false)) break;
      await clickPastHovers(page, row);
      if (await chosen().waitFor({ timeout: 5_000 }).then(() => true, () => false)) break;
    }
    if (await chosen().waitFor({ timeout: 30_000 }).then(() => true, () => false)) break;
    if (attempt >= 5) throw new Error('the kernel picker never offered pyctx');
    if (await picker.isVisible()) await page.keyboard.press('Escape');
    await page.waitForTimeout(5000);
  }
  // A picker still open (a second source level) is closed.
  if (await picker.isVisible()) await page.keyboard.press('Escape');
}

/**
 * Clicks a quick-pick row. The picker opens under the mouse, and the hover of the row
 * under it (an environment's details) can cover the row to click: the mouse leaves
 * first, and the click is tried again while a hover is in the way.
 */
async function clickPastHovers(page, row) {
  for (let attempt = 1; ; attempt++) {
    await page.mouse.move(0, 0);
    await page.waitForTimeout(200);
    try { await row.click({ timeout: 5_000 }); return; } catch (e) { if (attempt >= 10) throw e; }
  }
}

/**
 * Opens a notebook and selects the pyctx kernel for it. The ipynb editor may register
 * after the window shows: a file opened before that shows as JSON text, so its tab is
 * closed and the file clicked again.
 */
export async function openNotebook(page, name) {
  const toolbar = page.locator('.notebook-toolbar-container >> visible=true');
  for (let attempt = 1; ; attempt++) {
    await openFromExplorer(page, name);
    if (await toolbar.first().waitFor({ timeout: 30_000 }).then(() => true, () => false)) break;
    if (attempt >= 6) throw new Error(`${name} never opened in the notebook editor`);
    await page.keyboard.press('Control+W');
    await page.waitForTimeout(5000);
  }
  await selectPyctx(page);
}

/** Runs a command from the palette by its full title. */
export async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** The modal dialog showing `text`. */
const dialogShowing = (page, text) => page.locator('.monaco-dialog-box', { hasText: text }).first();

/** Clicks a button of the modal dialog showing `text`; returns the dialog's text. */
export async function answerDialog(page, text, button, shot) {
  const dialog = dialogShowing(page, text);
  await dialog.waitFor({ timeout: 30_000 });
  const shown = await dialog.innerText();
  if (shot) await screenshot(page, shot);
  await dialog.locator('.monaco-button', { hasText: button }).first().click();
  await dialog.waitFor({ state: 'detached', timeout: 15_000 });
  return shown;
}

/**
 * Clicks `target` and answers the modal dialog showing `text` that it opens. A click
 * that opens nothing in 10 s is made once more, as a person would, and logged: right
 * after a modal dialog closed, a toolbar click was twice seen to open nothing (the
 * command left no trace; cause unknown), while the same click passed in every other run.
 */
export async function clickAndAnswer(page, target, text, button, shot) {
  await target.click();
  if (!await dialogShowing(page, text).waitFor({ timeout: 10_000 }).then(() => true, () => false)) {
    console.log(`ui: no "${text}" dialog 10 s after the click: clicking again`);
    // A dialog that was only slow blocks this click; then the click gives up and the dialog is answered.
    await target.click({ timeout: 5_000 }).catch(() => undefined);
  }
  return answerDialog(page, text, button, shot);
}

/** The notification toast containing `text` (waits for it). */
export async function toast(page, text, timeoutMs = 60_000) {
  const t = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  await t.waitFor({ timeout: timeoutMs });
  return t;
}

/** Closes the active editor with the close button of its tab. */
export async function closeActiveTab(page) {
  const tab = page.locator('.tabs-container .tab.active').first();
  await tab.hover();
  await tab.locator('.tab-actions .action-label').first().click();
}

/** Saves a screenshot when PYCTX_UI_SHOTS names a folder (docs/ for the README). */
export async function screenshot(page, name) {
  const dir = process.env.PYCTX_UI_SHOTS;
  if (!dir) return;
  fs.mkdirSync(path.resolve(ROOT, dir), { recursive: true });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.resolve(ROOT, dir, name) });
  console.log(`ui: screenshot ${path.join(dir, name)}`);
}

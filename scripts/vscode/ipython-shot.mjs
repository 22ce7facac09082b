// `node scripts/vscode/ipython-shot.mjs`: IPython mode in the real VS Code UI (code-server,
// pyctx installed as users have it). Opens test/fixtures/vscode/ipython-tour.ipynb with
// pyctx.python = /usr/bin/python3 (IPython 8.5 + matplotlib_inline), picks the pyctx
// kernel and clicks Run All, then saves
//   docs/ipython-notebook.png       retina plot after its result, IPython's coloured
//                                   traceback, `_`, %xmode Minimal through get_ipython()
//   docs/ipython-ref-explorer.png   the pool node saying which layer runs cells, and
//                                   the session's Out[N] history entries
//   node scripts/vscode/ipython-shot.mjs [--out-dir docs] [--python PATH] [--keep] [--verbose]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, checkInstall, die, launchBrowser, linkExtension, parseArgs, prepareRunDir, startCodeServer, waitForWorkbench, workbenchUrl } from './codeserver.mjs';
import { expandTreeItem, widenSideBar, runAll, selectKernel, showViewContainer, waitForIdle, waitForOutputs } from './ui.mjs';

const a = parseArgs(process.argv.slice(2), 'usage: node scripts/vscode/ipython-shot.mjs [--out-dir DIR] [--python PATH] [--keep] [--verbose]');
checkInstall();
if (!fs.existsSync(path.join(ROOT, 'dist/extension.js'))) die('dist/extension.js missing: run npm run build');
const outDir = path.resolve(a['out-dir'] || path.join(ROOT, 'docs'));
fs.mkdirSync(outDir, { recursive: true });
const python = a.python || '/usr/bin/python3';

const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyctx-ipython-shot.'));
process.env.TMPDIR = path.join(runDir, 'tmp');
const settings = { 'workbench.colorTheme': 'Default Dark Modern', 'notebook.output.textLineLimit': 20,
  'editor.minimap.enabled': false, 'pyctx.python': python };
const workspace = prepareRunDir(runDir, { fixtures: path.join(ROOT, 'test/fixtures/vscode'), settings });
linkExtension(runDir, ROOT);
const server = await startCodeServer(runDir, { devMode: false, verbose: a.verbose });
let browser, code = 0;
try {
  let page;
  ({ browser, page } = await launchBrowser(runDir, { width: 1280, height: 2200 }));  // every output rendered
  if (a.verbose) page.on('console', m => console.log(`[browser] ${m.text()}`));
  page.setDefaultTimeout(120_000);  // a loaded machine: the workbench may take a while
  await page.goto(workbenchUrl(server, { folder: workspace }), { timeout: 180_000 });
  await waitForWorkbench(page);
  // Open from the Explorer (a directory listing; Quick Open's file search can starve
  // on a loaded machine), then hide the side bar so the notebook gets the width.
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'ipython-tour.ipynb' }).first();
  await row.waitFor();
  await row.click();
  await page.locator('.tab.active', { hasText: 'ipython-tour.ipynb' }).waitFor();
  await page.keyboard.press('Control+B');
  await selectKernel(page, 'pyctx', 'pyctx');
  await runAll(page);
  // Run All stops at the first error (as Jupyter): run the cells after it one by one.
  await waitForOutputs(page, ['Line2D', 'ZeroDivisionError'], 300_000);
  await waitForIdle(page);
  await page.waitForTimeout(2000);
  await page.screenshot({ path: path.join(outDir, 'ipython-notebook.png') });  // replaced below when all ran
  for (const index of [3, 4, 5]) {
    await page.locator('.notebook-editor .cell-list-container .monaco-list-row').nth(index).click({ position: { x: 200, y: 10 } });
    await page.keyboard.press('Control+Enter');
    await waitForIdle(page);
  }
  await waitForOutputs(page, ['43', "KeyError: 'missing'"], 60_000);
  await page.mouse.move(24, 600);
  await page.waitForTimeout(2500);
  await page.screenshot({ path: path.join(outDir, 'ipython-notebook.png') });
  await page.setViewportSize({ width: 1280, height: 860 });
  console.log(`screenshot: ${path.relative(ROOT, path.join(outDir, 'ipython-notebook.png'))}`);

  await showViewContainer(page, 'pyctx');
  await widenSideBar(page, 520);
  await expandTreeItem(page, { level: 1 });
  await expandTreeItem(page, { label: 'ipython-tour.ipynb' });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: path.join(outDir, 'ipython-ref-explorer.png') });
  console.log(`screenshot: ${path.relative(ROOT, path.join(outDir, 'ipython-ref-explorer.png'))}`);
} catch (e) {
  code = 1;
  console.error(`screenshot: ${e.stack || e}`);
  const failed = path.join(runDir, 'failed.png');
  await browser?.contexts()[0]?.pages()[0]?.screenshot({ path: failed }).then(() => console.error(`screenshot: window state saved to ${failed}`), () => {});
} finally {
  await browser?.close();
  await server.stop();
  if (code === 0 && !a.keep) fs.rmSync(runDir, { recursive: true, force: true });
  else console.log(`screenshot: run dir kept: ${runDir}`);
}
process.exit(code);

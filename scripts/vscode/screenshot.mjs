// `npm run screenshot`: opens test/fixtures/vscode/tour.ipynb in the real VS Code
// UI (code-server, pyctx installed as a regular extension, not test mode, so the
// window looks as users see it), runs all cells with the pyctx kernel, and saves
//   docs/notebook.png       the notebook with its outputs
//   docs/ref-explorer.png   the Ref Explorer with the notebook's session expanded
//   docs/status-bar.png     the pool status bar item's quick pick (+ status-bar-tooltip.png)
//
//   node scripts/vscode/screenshot.mjs [--out-dir docs] [--python PATH] [--keep] [--verbose]
// --python: interpreter for the pool (default /usr/bin/python3 when it has
// matplotlib, so the plot cell draws; else the pool's own default).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, checkInstall, die, launchBrowser, linkExtension, parseArgs, prepareRunDir, startCodeServer, waitForWorkbench, workbenchUrl } from './codeserver.mjs';
import { expandTreeItem, openFile, widenSideBar, runAll, selectKernel, showViewContainer, waitForIdle, waitForOutputs } from './ui.mjs';
import { showStatusBarItem } from './statusBarShot.mjs';

const a = parseArgs(process.argv.slice(2), 'usage: node scripts/vscode/screenshot.mjs [--out-dir DIR] [--python PATH] [--keep] [--verbose]');
checkInstall();
if (!fs.existsSync(path.join(ROOT, 'dist/extension.js'))) die('dist/extension.js missing: run npm run build');
const outDir = path.resolve(a['out-dir'] || path.join(ROOT, 'docs'));
fs.mkdirSync(outDir, { recursive: true });

function defaultPython() {
  try { execFileSync('/usr/bin/python3', ['-c', 'import matplotlib'], { stdio: 'ignore' }); return '/usr/bin/python3'; } catch { return undefined; }
}
const python = a.python || defaultPython();

const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyctx-screenshot.'));
process.env.TMPDIR = path.join(runDir, 'tmp');
const settings = { 'workbench.colorTheme': 'Default Dark Modern', 'notebook.output.textLineLimit': 12,
  'editor.minimap.enabled': false, ...(python ? { 'pyctx.python': python } : {}) };
const workspace = prepareRunDir(runDir, { fixtures: path.join(ROOT, 'test/fixtures/vscode'), settings });
linkExtension(runDir, ROOT);
const server = await startCodeServer(runDir, { devMode: false, verbose: a.verbose });
let browser, code = 0;
try {
  let page;
  ({ browser, page } = await launchBrowser(runDir, { width: 1280, height: 860 }));
  if (a.verbose) page.on('console', m => console.log(`[browser] ${m.text()}`));
  await page.goto(workbenchUrl(server, { folder: workspace }));
  await waitForWorkbench(page);
  await page.keyboard.press('Control+B'); // hide the Explorer: the notebook gets the width
  await openFile(page, 'tour.ipynb');
  await selectKernel(page, 'pyctx', 'pyctx');
  await runAll(page);
  await waitForOutputs(page, ['worker pid', 'setting']);
  await waitForIdle(page);
  // Tall enough for every cell and output; away from buttons so no hover tooltip shows.
  await page.setViewportSize({ width: 1280, height: 1500 });
  await page.mouse.move(24, 600);
  await page.waitForTimeout(2000); // webview outputs (the plot) finish rendering after the resize
  await page.screenshot({ path: path.join(outDir, 'notebook.png') });
  await page.setViewportSize({ width: 1280, height: 860 });
  console.log(`screenshot: ${path.relative(ROOT, path.join(outDir, 'notebook.png'))}`);

  await showViewContainer(page, 'pyctx');
  await widenSideBar(page, 480);
  await expandTreeItem(page, { level: 1 });             // the pool
  await expandTreeItem(page, { label: 'tour.ipynb' });  // its session: the notebook's refs
  await page.waitForTimeout(1000);
  await page.screenshot({ path: path.join(outDir, 'ref-explorer.png') });
  console.log(`screenshot: ${path.relative(ROOT, path.join(outDir, 'ref-explorer.png'))}`);

  // The pool status bar item (views area): its tooltip, then the quick pick it opens.
  await showStatusBarItem(page, path.join(outDir, 'status-bar.png'));
  console.log(`screenshot: ${path.relative(ROOT, path.join(outDir, 'status-bar.png'))}`);
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

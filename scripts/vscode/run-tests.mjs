// Runs the mocha suite (dist/test/vscode/index.js) inside code-server's real VS Code,
// driven by headless chromium. Exit code 0 = all tests passed.
//
//   node scripts/vscode/run-tests.mjs --run-dir DIR [--vsix FILE | --ext DIR] [--tests FILE]
//        [--fixtures DIR] [--timeout SECONDS] [--screenshot FILE.png] [--verbose]
//
// Dev mode (default): the repo is the development extension. With --vsix the
// package is installed into the run's fresh extensions dir and the suite runs
// against that installed copy. The workbench reports run()'s result through
// window.codeAutomationExit (the hook @vscode/test-web uses too).
import fs from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { ROOT, checkInstall, die, installVsix, launchBrowser, parseArgs, prepareRunDir, startCodeServer, workbenchUrl, sleep } from './codeserver.mjs';

const USAGE = `usage: node scripts/vscode/run-tests.mjs --run-dir DIR [--vsix FILE | --ext DIR] [--tests FILE]
       [--fixtures DIR] [--timeout SECONDS] [--screenshot FILE.png] [--verbose]`;
const a = parseArgs(process.argv.slice(2), USAGE);
if (!a['run-dir']) die(USAGE);
checkInstall();
const runDir = path.resolve(a['run-dir']);
const ext = path.resolve(a.ext || ROOT); // dev mode: the extension folder (default: this repo)
const tests = path.resolve(a.tests || path.join(ROOT, 'dist/test/vscode/index.js'));
const fixtures = path.resolve(a.fixtures || path.join(ROOT, 'test/fixtures/vscode'));
for (const p of [tests, fixtures, a.vsix || path.join(ext, 'package.json')]) if (!fs.existsSync(p)) die(`not found: ${p} (run npm run build)`);
const timeoutMs = Number(a.timeout || 1800) * 1000;   // the whole suite; generous for busy machines
process.env.TMPDIR = path.join(runDir, 'tmp'); // playwright's chromium profile goes there too

const t0 = Date.now();
// The suite's kernel tests check the built-in cell layer's exact outputs, so it is pinned
// here (python3 on PATH may have IPython); ipython.test.ts switches IPython mode on itself.
// PYCTX_VSCODE_IPYTHON=auto|on sets it instead (`npm run bench:vscode` in IPython mode).
const workspace = prepareRunDir(runDir, { fixtures, settings: { 'pyctx.ipython': process.env.PYCTX_VSCODE_IPYTHON || 'off' } });
// The suite checks that it tests the copy we meant: the repo, or the installed .vsix.
let expectPath = ext;
if (a.vsix) {
  expectPath = installVsix(runDir, a.vsix);
  console.log(`vscode: installed ${path.basename(a.vsix)} as ${path.relative(runDir, expectPath)} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
}
const server = await startCodeServer(runDir, { verbose: a.verbose, env: {
  PYCTX_TEST_EXTENSION_PATH: expectPath, PYCTX_TEST_MODE: a.vsix ? 'vsix' : 'dev' } });
let browser, code = 1;
try {
  let page;
  ({ browser, page } = await launchBrowser(runDir));
  // The extension host's console (the mocha reporter) reaches the page mixed with
  // the workbench's own log: hide "[Component]" lines and workbench stack frames.
  const noise = /^(\[[\w :.-]+\]( |\[)|Resolving connection token|Resolved connection token|Creating a socket|Updating additional builtin|Ignoring fetching additional builtin|Creation of workbench contribution)/;
  await page.exposeFunction('codeAutomationLog', (_level, args) => {
    const line = format(...args);
    if (a.verbose || !(noise.test(line) || line.includes(`${server.url}/stable-`))) console.log(line);
  });
  let onExit;
  const exited = new Promise(res => (onExit = res));
  await page.exposeFunction('codeAutomationExit', c => onExit(c));
  page.on('pageerror', e => console.error(`[page error] ${e.message}`));
  // Without a development extension the workbench does not run tests, so in vsix
  // mode an empty placeholder extension (test/vscode/host) takes that role.
  const devPath = a.vsix ? path.join(ROOT, 'test/vscode/host') : ext;
  // A loaded machine (parallel CI jobs) can take well over the default 30 s to serve the workbench.
  await page.goto(workbenchUrl(server, { folder: workspace, extensionDevelopmentPath: devPath, extensionTestsPath: tests }), { timeout: 180_000 });
  const result = await Promise.race([exited, sleep(timeoutMs).then(() => 'timeout')]);
  if (result === 'timeout') console.error(`vscode: tests did not finish within ${timeoutMs / 1000}s`);
  else code = result;
  // On failure the window's last state is kept in the run dir (test-vscode.sh keeps it).
  const shot = a.screenshot || (code !== 0 ? path.join(runDir, 'failed.png') : undefined);
  if (shot) await page.screenshot({ path: shot }).then(() => code !== 0 && console.error(`vscode: window saved to ${shot}`), () => {});
} catch (e) {
  console.error(`vscode: ${e.stack || e}`);
} finally {
  await browser?.close();
  await server.stop();
}
console.log(`vscode: tests (${a.vsix ? 'installed vsix' : 'dev folder'}) exited with code ${code} after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
process.exit(code === 0 ? 0 : 1);

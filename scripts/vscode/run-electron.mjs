// Runs the mocha suite in a desktop VS Code through @vscode/test-electron, for
// machines that have one: VSCODE_EXECUTABLE=/path/to/code (Linux needs a display,
// e.g. `xvfb-run -a`). PYCTX_VSCODE_DOWNLOAD=1 instead lets test-electron download
// VS Code stable into .vscode-test/ (needs internet). Same arguments and run-dir
// layout as run-tests.mjs, so scripts/test-vscode.sh treats both alike.
//
//   node scripts/vscode/run-electron.mjs --run-dir DIR [--vsix FILE | --ext DIR] [--tests FILE] [--fixtures DIR]
import { runTests, downloadAndUnzipVSCode, resolveCliArgsFromVSCodeExecutablePath } from '@vscode/test-electron';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, die, parseArgs, prepareRunDir, runEnv } from './codeserver.mjs';

const USAGE = 'usage: node scripts/vscode/run-electron.mjs --run-dir DIR [--vsix FILE | --ext DIR] [--tests FILE] [--fixtures DIR]';
const a = parseArgs(process.argv.slice(2), USAGE);
if (!a['run-dir']) die(USAGE);
const runDir = path.resolve(a['run-dir']);
const ext = path.resolve(a.ext || ROOT);
const tests = path.resolve(a.tests || path.join(ROOT, 'dist/test/vscode/index.js'));
const fixtures = path.resolve(a.fixtures || path.join(ROOT, 'test/fixtures/vscode'));
for (const p of [tests, fixtures, a.vsix || path.join(ext, 'package.json')]) if (!fs.existsSync(p)) die(`not found: ${p} (run npm run build)`);

let executable = process.env.VSCODE_EXECUTABLE;
if (!executable) {
  if (process.env.PYCTX_VSCODE_DOWNLOAD !== '1') die('set VSCODE_EXECUTABLE to a desktop VS Code, or PYCTX_VSCODE_DOWNLOAD=1 to download one');
  executable = await downloadAndUnzipVSCode({ version: 'stable', cachePath: path.join(ROOT, '.vscode-test') });
}

const t0 = Date.now();
const workspace = prepareRunDir(runDir, { fixtures });
const dirs = ['--user-data-dir', path.join(runDir, 'user'), '--extensions-dir', path.join(runDir, 'extensions')];
const env = runEnv(runDir);
let expectPath = ext;
if (a.vsix) {
  const [cli, ...cliArgs] = resolveCliArgsFromVSCodeExecutablePath(executable);
  execFileSync(cli, [...cliArgs, ...dirs, '--install-extension', path.resolve(a.vsix)], { env, stdio: 'inherit' });
  const installed = fs.readdirSync(path.join(runDir, 'extensions')).filter(d => d.startsWith('pyctx.pyctx-'));
  if (installed.length !== 1) die('--install-extension did not install pyctx.pyctx');
  expectPath = path.join(runDir, 'extensions', installed[0]);
}
let code = 1;
try {
  code = await runTests({
    vscodeExecutablePath: executable,
    // With a .vsix, a placeholder dev extension opens the development window that
    // runs the tests, and the installed pyctx.pyctx is the extension under test.
    extensionDevelopmentPath: a.vsix ? path.join(ROOT, 'test/vscode/host') : ext,
    extensionTestsPath: tests,
    extensionTestsEnv: { ...env, PYCTX_TEST_EXTENSION_PATH: expectPath, PYCTX_TEST_MODE: a.vsix ? 'vsix' : 'dev' },
    launchArgs: [workspace, ...dirs, '--disable-workspace-trust', '--disable-telemetry', '--skip-release-notes'],
  });
} catch (e) {
  console.error(`vscode: ${e.message || e}`);
}
console.log(`vscode: tests (desktop, ${a.vsix ? 'installed vsix' : 'dev folder'}) exited with code ${code} after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
process.exit(code === 0 ? 0 : 1);

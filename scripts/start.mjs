// `npm start`: the product in the real VS Code. Builds if needed, installs the
// offline VS Code (code-server + chromium) on first use, starts it on 127.0.0.1
// with pyctx loaded as an installed extension and examples/ open, prints the URL
// and opens it in the user's browser (when one can be found). Ctrl+C stops it
// and every process it started (the pool and its Python workers included).
//
//   npm start [-- --port N] [--no-browser] [--folder DIR]
// User data (settings, opened editors) is kept in .vscode-test/start/ between runs.
// PYCTX_NO_BROWSER=1 is --no-browser (tests, remote shells).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, checkInstall, linkExtension, parseArgs, prepareRunDir, startCodeServer, workbenchUrl } from './vscode/codeserver.mjs';

const USAGE = 'usage: npm start [-- --port N] [--no-browser] [--folder DIR]';
const a = parseArgs(process.argv.slice(2), USAGE);

if (!fs.existsSync(path.join(ROOT, 'dist/extension.js'))) {
  console.log('start: building the extension');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
}
if (!fs.existsSync(path.join(ROOT, '.vscode-test/real-vscode/node_modules/code-server'))) {
  console.log('start: installing the offline VS Code (code-server + chromium), once, about 3 minutes');
}
execFileSync('bash', [path.join(ROOT, 'scripts/vscode/install.sh')], { stdio: 'inherit' });
checkInstall();

const runDir = path.resolve(process.env.PYCTX_START_DIR || path.join(ROOT, '.vscode-test/start'));
const folder = path.resolve(a.folder || path.join(ROOT, 'examples'));
prepareRunDir(runDir, { settings: { 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false } });
if (a.port) fs.writeFileSync(path.join(runDir, 'config.yaml'), `bind-addr: 127.0.0.1:${Number(a.port)}\nauth: none\ncert: false\n`);
// pyctx as an installed extension: the repo itself, linked (a rebuild is picked up on reload).
for (const d of fs.readdirSync(path.join(runDir, 'extensions'))) {
  if (d.startsWith('pyctx.') || d === 'extensions.json') fs.rmSync(path.join(runDir, 'extensions', d), { force: true });
}
linkExtension(runDir, ROOT);

const server = await startCodeServer(runDir, { devMode: false });
const url = workbenchUrl(server, { folder });
console.log(`\npyctx in VS Code: ${url}\n(examples: ${path.relative(process.cwd(), folder) || '.'}; Ctrl+C stops VS Code and its Python workers)\n`);

if (!a['no-browser'] && process.env.PYCTX_NO_BROWSER !== '1') openBrowser(url);

function openBrowser(u) {
  const candidates = process.platform === 'darwin' ? ['open'] : ['xdg-open', 'sensible-browser'];
  for (const cmd of candidates) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      if (process.platform !== 'darwin' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) break;
      spawn(cmd, [u], { detached: true, stdio: 'ignore' }).unref();
      return;
    } catch { /* try the next */ }
  }
  console.log('start: no graphical browser here: open the URL above yourself (e.g. through an SSH tunnel to 127.0.0.1).');
}

// Stay up until interrupted; startCodeServer's own SIGINT/SIGTERM handlers stop code-server.
await new Promise(() => {});

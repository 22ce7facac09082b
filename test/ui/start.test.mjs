// `npm start` shows the product: it starts the real VS Code on 127.0.0.1, prints the
// URL, the page loads with pyctx active (its status bar item and view container) and
// examples/ open; Ctrl+C (SIGINT to its process group) stops everything it started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, launchBrowser, waitForWorkbench } from '../../scripts/vscode/codeserver.mjs';
import { openNotebook } from './support.mjs';

test('npm start: VS Code on 127.0.0.1 with pyctx active and examples/ open, stopped by Ctrl+C', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyctx-start.'));
  const child = spawn('npm', ['start', '--', '--no-browser'], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYCTX_START_DIR: dir, PYCTX_NO_BROWSER: '1', TMPDIR: path.join(dir, 'tmp') },
  });
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  let out = '';
  child.stdout.on('data', d => { out += d; });
  child.stderr.on('data', d => { out += d; });
  const exited = new Promise(res => child.once('exit', (code, signal) => res({ code, signal })));
  let browser;
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /pyctx in VS Code: (http:\/\/\S+)/.exec(out);
        if (m) { clearInterval(timer); resolve(m[1]); }
      }, 200);
      exited.then(() => { clearInterval(timer); reject(new Error(`npm start exited:\n${out}`)); });
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\//, 'bound to 127.0.0.1 only');
    assert.match(decodeURIComponent(url), /folder=.*examples/);
    ({ browser } = await launchBrowser(dir));
    const page = browser.contexts()[0].pages()[0];
    await page.goto(url, { timeout: 180_000, waitUntil: 'domcontentloaded' });
    await waitForWorkbench(page);
    // examples/ is the open folder; opening its notebook shows pyctx active: its pool
    // status bar item (bound/total) and its kernel in the notebook's kernel picker.
    await page.locator('.sidebar', { hasText: 'demo.ipynb' }).first().waitFor({ timeout: 60_000 });
    // openNotebook reopens a notebook that came up as JSON text (the ipynb editor can
    // register after the window shows), then selects pyctx in its kernel picker.
    await openNotebook(page, 'demo.ipynb');
    await page.locator('.statusbar-item', { hasText: /^\s*\d+\/\d+/ }).first().waitFor({ timeout: 180_000 });
  } finally {
    await browser?.close().catch(() => undefined);
    try { process.kill(-child.pid, 'SIGINT'); } catch { /* gone */ }
    const r = await Promise.race([exited, new Promise(res => setTimeout(() => res('timeout'), 30_000))]);
    if (r === 'timeout') { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }
    assert.notEqual(r, 'timeout', `npm start did not stop on Ctrl+C:\n${out}`);
    // Nothing it started is left: code-server, the extension host, the pool, its workers.
    let left = [];
    for (let i = 0; i < 40; i++) {
      left = execFileSync('ps', ['axeww', '-o', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter(l => l.includes(dir) && !l.includes(' ps axeww'));
      if (!left.length) break;
      await new Promise(res => setTimeout(res, 500));
    }
    assert.deepEqual(left.map(l => l.slice(0, 160)), [], 'processes of npm start left after Ctrl+C');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

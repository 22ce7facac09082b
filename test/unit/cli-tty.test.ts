// `pyctx run` attached to a real terminal (a pty made by util-linux `script`): the
// per-cell progress line appears on stderr, and Ctrl-C typed at the terminal (SIGINT
// to the foreground process group; workers have their own group, so the CLI forwards it) interrupts
// the running cell, writes what ran and exits 130. Skips when `script` is missing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, collect, makeTmp, readNb, text, writeNb } from './cli-helpers';

const haveScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const tmp = makeTmp('pyctx-tty-');
after(() => tmp.cleanup());

const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the CLI inside a pty; returns the process (stdin = keys typed at the terminal).
 * `exec` replaces script's shell with the CLI, so Ctrl-C reaches only the CLI (a dash
 * shell would die of the SIGINT itself) and `script -e` exits with the CLI's status.
 */
function inTerminal(args: string[]) {
  const cmd = 'exec ' + [process.execPath, '--import', TSX, MAIN, ...args].map(shq).join(' ');
  return spawn('script', ['-qec', cmd, '/dev/null'], { cwd: tmp.dir, stdio: ['pipe', 'pipe', 'pipe'] });
}

test('on a terminal: one progress line per cell (n/N, elapsed) on stderr', { skip: !haveScript && 'util-linux script not installed' }, async () => {
  const nb = writeNb(tmp.dir, 'three.ipynb', ['a = 1', 'md:# note', 'print(a)', 'a + 1']);
  const child = inTerminal(['run', nb]);
  const r = await collect(child);
  assert.equal(r.code, 0, r.stdout);
  const progress = r.stdout.split(/\r?\n/).filter(l => /^\[\d\/3\]/.test(l));
  assert.equal(progress.length, 3, r.stdout);
  assert.match(progress[0], /^\[1\/3\] three\.ipynb cell 1  ok\s+\d+\.\d\ds$/);
  assert.match(progress[1], /^\[2\/3\] three\.ipynb cell 3  ok/, 'cell numbers are notebook positions');
  assert.match(progress[2], /^\[3\/3\] three\.ipynb cell 4  ok/);
});

test('Ctrl-C typed at the terminal: the cell is interrupted, the partial notebook written, exit 130', { skip: !haveScript && 'util-linux script not installed' }, async () => {
  const nb = writeNb(tmp.dir, 'ctrlc.ipynb', [
    'print("first")',
    'import time, pathlib\npathlib.Path("ctrlc.running").touch()\ntime.sleep(60)',
    'print("never")',
  ]);
  const out = path.join(tmp.dir, 'ctrlc.out.ipynb');
  const child = inTerminal(['run', nb, '-o', out]);
  const done = collect(child);
  const marker = path.join(tmp.dir, 'ctrlc.running');
  for (let i = 0; i < 600 && !existsSync(marker); i++) await sleep(50);
  assert.ok(existsSync(marker), 'cell 2 started');
  child.stdin!.write('\x03');
  const r = await done;
  assert.equal(r.code, 130, r.stdout);
  assert.match(r.stdout, /interrupted during cell 2/, r.stdout);
  const cells = readNb(out).cells;
  assert.equal(text(cells[0].outputs![0].text), 'first\n');
  assert.equal(cells[1].outputs!.at(-1).ename, 'KeyboardInterrupt', JSON.stringify(cells[1].outputs));
  assert.deepEqual(cells[2].outputs, []);
});

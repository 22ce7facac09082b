// Formatting rules of the Ref Explorer / status bar (src/views/format.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, humanBytes, sessionLabel, sessionStateIcon, shortRepr } from '../../src/views/format';

test('humanBytes uses binary steps and short numbers', () => {
  assert.equal(humanBytes(0), '0 B');
  assert.equal(humanBytes(1023), '1023 B');
  assert.equal(humanBytes(1024), '1 KB');
  assert.equal(humanBytes(1536), '1.5 KB');
  assert.equal(humanBytes(80 * 1024 * 1024), '80 MB');
  assert.equal(humanBytes(3.25 * 1024 ** 3), '3.3 GB');
  assert.equal(humanBytes(-1), '?');
});

test('age is short and never negative', () => {
  const now = 1_000_000_000;
  assert.equal(age(now + 5000, now), 'now');
  assert.equal(age(now - 42_000, now), '42s');
  assert.equal(age(now - 5 * 60_000, now), '5m');
  assert.equal(age(now - 3 * 3600_000, now), '3h');
  assert.equal(age(now - 72 * 3600_000, now), '3d');
});

test('sessionLabel is the notebook file name, or the owner id', () => {
  assert.equal(sessionLabel('file:///home/u/work/My%20Analysis.ipynb'), 'My Analysis.ipynb');
  assert.equal(sessionLabel('untitled:Untitled-1.ipynb'), 'Untitled-1.ipynb');
  assert.equal(sessionLabel('vscode-remote://ssh-remote+box/srv/a.ipynb'), 'a.ipynb');
  assert.equal(sessionLabel('cli-4711'), 'cli-4711');
});

test('session state icons differ per state', () => {
  const icons = ['idle', 'running', 'crashed'].map(sessionStateIcon);
  assert.equal(new Set(icons).size, 3);
  assert.equal(sessionStateIcon('running'), 'sync~spin');
});

test('shortRepr cuts long reprs', () => {
  assert.equal(shortRepr('abc'), 'abc');
  const cut = shortRepr('x'.repeat(1000), 10);
  assert.equal(cut.length, 10);
  assert.ok(cut.endsWith('…'));
});

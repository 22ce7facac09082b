// Environment discovery (src/client/environments/discover.ts) on a faked home with
// real interpreters: a pyenv layout (~/.pyenv/versions/*, one of them Python 2.7,
// too old), a conda layout (~/.conda/environments.txt with an env and a vanished
// one), a workspace .venv made with `python -m venv --without-pip` (listed as its
// own bin/python, never its base), PATH's python3 merged with the same system
// interpreter, and the default environment named by defaultId.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { discoverEnvironments, type PythonEnvironment } from '../../src/client/environments/discover';

const SYSTEM = '/usr/bin/python3';
const PYENV_REAL = path.join(os.homedir(), '.pyenv', 'versions');
let home: string;
let ws: string;

before(() => {
  home = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'pyctx-home-')));
  ws = path.join(home, 'project');
  mkdirSync(path.join(ws, 'notes'), { recursive: true });
  mkdirSync(path.join(ws, 'sub', 'deeper'), { recursive: true });
  // A workspace venv (listed) and a nested one (not directly under the folder: not listed).
  const base = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  execFileSync(base, ['-m', 'venv', '--without-pip', path.join(ws, '.venv')]);
  execFileSync(base, ['-m', 'venv', '--without-pip', path.join(ws, 'sub', 'deeper', '.venv')]);
  // pyenv layout: versions/<v>/bin/python3 pointing at real interpreters.
  const more = ['3.10.13', '3.12.1'].filter(v => existsSync(path.join(PYENV_REAL, v, 'bin', 'python3')))
    .map(v => [v, path.join(PYENV_REAL, v, 'bin', 'python3')] as const);
  for (const [v, target] of [['3.11.7', path.join(PYENV_REAL, '3.11.7', 'bin', 'python3')], ['2.7.18', path.join(PYENV_REAL, '2.7.18', 'bin', 'python')], ...more] as const) {
    const bin = path.join(home, '.pyenv', 'versions', v, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(target, path.join(bin, 'python3'));
  }
  // conda layout: one real env (a venv of the system Python) and one that is gone.
  execFileSync(SYSTEM, ['-m', 'venv', '--without-pip', path.join(home, 'miniconda3', 'envs', 'ds')]);
  mkdirSync(path.join(home, '.conda'));
  writeFileSync(path.join(home, '.conda', 'environments.txt'),
    `${path.join(home, 'miniconda3', 'envs', 'ds')}\n${path.join(home, 'miniconda3', 'envs', 'gone')}\n`);
  // PATH: python3 is a symlink to the system interpreter.
  mkdirSync(path.join(home, 'bin'));
  symlinkSync(SYSTEM, path.join(home, 'bin', 'python3'));
});
after(() => rmSync(home, { recursive: true, force: true }));

const byName = (envs: PythonEnvironment[], name: string): PythonEnvironment => {
  const e = envs.find(x => x.name === name);
  assert.ok(e, `${name} not in ${JSON.stringify(envs.map(x => x.name))}`);
  return e;
};

test('pyenv, conda, workspace venvs and PATH on a faked home', { skip: !existsSync(path.join(PYENV_REAL, '2.7.18')) && 'needs pyenv 2.7.18 and 3.11.7' }, async () => {
  const { environments: envs, defaultId } = await discoverEnvironments({
    home, pathEnv: path.join(home, 'bin'), workspaceFolders: [ws], pyenvRoot: path.join(home, '.pyenv'), systemPaths: [SYSTEM],
  });

  const venv = byName(envs, '.venv');
  assert.equal(venv.kind, 'venv');
  assert.equal(venv.python, path.join(ws, '.venv', 'bin', 'python'), 'a venv runs as its own bin/python');
  assert.equal(venv.prefix, path.join(ws, '.venv'));
  assert.equal(venv.error, undefined);
  assert.ok(!envs.some(e => e.python.includes('deeper')), 'only folders directly under a workspace folder');
  assert.ok(!envs.some(e => e.python.includes('notes')));

  const ds = byName(envs, 'conda: ds');
  assert.equal(ds.kind, 'conda');
  assert.equal(ds.python, path.join(home, 'miniconda3', 'envs', 'ds', 'bin', 'python'));
  assert.equal(ds.prefix, path.join(home, 'miniconda3', 'envs', 'ds'));
  const gone = byName(envs, 'conda: gone');
  assert.match(gone.error ?? '', /does not exist/, 'a broken environment is listed with its error');

  const py311 = byName(envs, 'pyenv 3.11.7');
  assert.equal(py311.kind, 'pyenv');
  assert.equal(py311.version, '3.11.7');
  assert.equal(py311.error, undefined);
  const py27 = byName(envs, 'pyenv 2.7.18');
  assert.match(py27.error ?? '', /Python 2\.7\.18 is too old/);

  // PATH's python3 and /usr/bin/python3 are one interpreter: merged, one entry.
  const system = envs.filter(e => e.prefix === '/usr');
  assert.equal(system.length, 1, JSON.stringify(system));
  assert.deepEqual(system[0].sources.sort(), ['path', 'system']);
  assert.equal(defaultId, system[0].id, 'the default is what python3 on PATH runs');

  // Listed as the kernel picker shows them: usable ones first (the workspace's venv
  // first of all, then by source), newest Python first within a source; broken ones last.
  const names = envs.map(e => e.name);
  assert.equal(names[0], '.venv', JSON.stringify(names));
  const firstBroken = envs.findIndex(e => e.error !== undefined);
  assert.ok(firstBroken > 0 && envs.slice(firstBroken).every(e => e.error !== undefined), `broken ones last: ${JSON.stringify(names)}`);
  assert.ok(names.indexOf('pyenv 2.7.18') > names.indexOf('pyenv 3.11.7'));
  const pyenvs = names.filter(n => n.startsWith('pyenv 3.'));
  assert.deepEqual(pyenvs, [...pyenvs].sort((a, b) => b.localeCompare(a, 'en', { numeric: true })), 'newest first within a source');
  assert.ok(names.indexOf('conda: gone') > names.indexOf(system[0].name));

  assert.equal(new Set(envs.map(e => e.id)).size, envs.length, 'ids are unique');
  // A venv never merges with its base interpreter.
  assert.notEqual(venv.id, py311.id);
});

test('pyctx.python is the default and keeps its name; a missing one is listed with its error', async () => {
  const { environments: envs, defaultId } = await discoverEnvironments(
    { home, pathEnv: '', workspaceFolders: [], configured: SYSTEM, pyenvRoot: path.join(home, 'none'), systemPaths: [] }, SYSTEM);
  const configured = envs.find(e => e.id === defaultId);
  assert.equal(configured?.kind, 'setting');
  assert.match(configured?.name ?? '', /\(pyctx\.python\)$/);
  const missing = await discoverEnvironments({ home, pathEnv: '', configured: path.join(home, 'nope', 'python'), pyenvRoot: path.join(home, 'none'), systemPaths: [] });
  const nope = missing.environments.find(e => e.kind === 'setting');
  assert.equal(nope?.python, path.join(home, 'nope', 'python'));
  assert.match(nope?.error ?? '', /nope\/python does not exist/);
  assert.equal(missing.defaultId, undefined, 'no python3 on an empty PATH: no default');
});

// One pool per interpreter in the real pool server (src/server/pools.ts): two
// notebooks bound at once to different interpreters (PATH's python3 = pyenv, and
// /usr/bin/python3) each run in their own interpreter; pyctx/pools lists both with
// their bound counts; a notebook that switches environment is rebound there;
// `poolSize` caps each pool on its own; pools with no bound notebook shrink to zero
// after idleShutdownMinutes and start again on the next run; a missing
// interpreter is `environment_unavailable` with a message naming it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorCode } from '../../src/client/api';
import { alive, startServer, waitFor, type ServerHarness } from './server-harness';

const SYSTEM = '/usr/bin/python3';
let h: ServerHarness;
let tmp: string;
const nb = (name: string): string => pathToFileURL(path.join(tmp, name)).toString();

async function evalIn(uri: string, expr: string, python?: string): Promise<string> {
  const outs: string[] = [];
  const r = await h.api.execute({ notebookUri: uri, code: `print(${expr})`, python }, o => { if (o.kind === 'stream') outs.push(o.text); });
  assert.equal(r.status, 'ok', JSON.stringify(r));
  return outs.join('').trim();
}

before(async () => {
  assert.ok(existsSync(SYSTEM), 'this test needs /usr/bin/python3 besides python3 on PATH');
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'pyctx-pools-')));
  // 0.01 minutes = 600 ms: idle pools shrink to zero within the test.
  h = await startServer({ init: { poolSize: 1, warm: 1, idleShutdownMinutes: 0.01 } });
  assert.equal((await h.settled).state, 'ready');
});
after(async () => {
  await h?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('pools per interpreter', () => {
  test('two notebooks bound at once to different interpreters run in their own (poolSize caps each pool)', async () => {
    const a = nb('a.ipynb'), b = nb('b.ipynb');
    const defaultExe = await evalIn(a, '__import__("sys").executable');
    const systemExe = await evalIn(b, '__import__("sys").executable', SYSTEM);
    assert.notEqual(defaultExe, systemExe);
    assert.equal(systemExe, SYSTEM);
    assert.equal(await evalIn(b, '__import__("sys").prefix', SYSTEM), '/usr');
    // poolSize 1: both are bound because each pool has its own cap.
    const sessions = await h.api.sessions();
    assert.equal(sessions.length, 2);
    const sa = sessions.find(s => s.notebookUri === a)!, sb = sessions.find(s => s.notebookUri === b)!;
    assert.equal(sa.python, defaultExe);
    assert.equal(sa.environment, '');
    assert.equal(sb.python, SYSTEM);
    assert.equal(sb.environment, SYSTEM);
    const pools = await h.api.pools();
    assert.equal(pools.length, 2);
    assert.equal(pools[0].environment, '');
    assert.equal(pools[0].python, defaultExe);
    const sys = pools.find(p => p.environment === SYSTEM)!;
    assert.equal(sys.state, 'running');
    assert.equal(sys.bound, 1);
    assert.equal(sys.size, 1);
    assert.equal(sys.checkedOut, 1);
    assert.deepEqual(sys.workers.map(w => w.owner), [b]);
  });

  test('a notebook that switches environment is rebound in the other pool (old state ends)', async () => {
    const a = nb('a.ipynb'), b = nb('b.ipynb');
    await h.api.unbind(b);   // poolSize 1: the system pool's worker must be free for a
    await h.api.execute({ notebookUri: a, code: 'kept = 1' });
    assert.equal(await evalIn(a, '__import__("sys").executable, "kept" in globals()', SYSTEM), `${SYSTEM} False`);
    const sessions = await h.api.sessions();
    assert.deepEqual(sessions.map(s => [s.notebookUri, s.environment]), [[a, SYSTEM]]);
    const pools = await h.api.pools();
    assert.deepEqual(pools.map(p => p.bound), [0, 1]);
  });

  test('pools with no bound notebook shrink to zero after idleShutdownMinutes and start again on use', async () => {
    const a = nb('a.ipynb');
    const before = await h.api.pools();
    // The default pool (no notebook bound since the previous test) may already be gone: its 600 ms can pass.
    const pids = before.flatMap(p => p.workers.map(w => w.pid));
    assert.ok(pids.length >= 1, JSON.stringify(before));
    await h.api.unbind(a);
    const stopped = await waitFor(async () => {
      const ps = await h.api.pools();
      return ps.every(p => p.state === 'stopped' && p.numWorkers === 0) ? ps : undefined;
    }, 60_000, 100);
    assert.ok(stopped, `pools did not shrink to zero: ${JSON.stringify(await h.api.pools())}`);
    assert.ok(await waitFor(() => pids.every(pid => !alive(pid)), 20_000), 'the stopped pools left workers behind');
    // pyctx/stats does not start the default pool again; a run does.
    assert.equal((await h.api.stats()).numWorkers, 0);
    assert.equal(await evalIn(nb('c.ipynb'), '__import__("sys").prefix', SYSTEM), '/usr');
    const ps = await h.api.pools();
    assert.equal(ps.find(p => p.environment === SYSTEM)?.state, 'running');
    assert.equal(ps[0].state, 'stopped');
  });

  test('a missing interpreter is environment_unavailable, naming it; nothing else is disturbed', async () => {
    const gone = path.join(tmp, 'gone-venv', 'bin', 'python');
    await assert.rejects(h.api.execute({ notebookUri: nb('d.ipynb'), code: '1', python: gone }), (err: Error) => {
      assert.equal(errorCode(err), 'environment_unavailable');
      assert.match(err.message, /gone-venv\/bin\/python/);
      assert.match(err.message, /Select another environment/);
      return true;
    });
    assert.ok(!(await h.api.pools()).some(p => p.environment === gone), 'a failed pool is not kept');
    assert.equal(await evalIn(nb('c.ipynb'), '6 * 7', SYSTEM), '42');
  });

  test('a venv runs as its own bin/python; once deleted, its running pool serves no new bind', async () => {
    const venv = path.join(tmp, 'venv-x');
    execFileSync('python3', ['-m', 'venv', '--without-pip', venv]);
    const python = path.join(venv, 'bin', 'python');
    const e = nb('e.ipynb');
    assert.equal(await evalIn(e, '__import__("sys").prefix + " " + __import__("sys").executable', python), `${venv} ${python}`);
    await h.api.unbind(e);
    rmSync(venv, { recursive: true, force: true });
    await assert.rejects(h.api.execute({ notebookUri: e, code: '1', python }), (err: Error) => {
      assert.equal(errorCode(err), 'environment_unavailable');
      assert.match(err.message, /venv-x\/bin\/python no longer exists/);
      return true;
    });
    assert.ok(await waitFor(async () => !(await h.api.pools()).some(p => p.environment === python), 20_000), 'its pool is closed');
  });
});

// The pool server when things go wrong: a worker killed mid-cell or while idle,
// the per-cell output cap, a machine without a usable Python, and the server
// process itself dying (the connection sees it, no worker is orphaned, a new
// server works). Real processes and signals throughout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DidCloseNotebookDocumentNotification, DidOpenNotebookDocumentNotification } from 'vscode-languageserver-protocol/node';
import { errorCode } from '../../src/client/api';
import type { OutputPayload, SessionLostParams } from '../../src/protocol/lsp';
import { alive, startServer, waitFor, type ServerHarness } from './server-harness';

const NB = 'file:///tmp/pyctx-faults/crash.ipynb';

async function run(h: ServerHarness, uri: string, code: string) {
  const outs: OutputPayload[] = [];
  const result = await h.api.execute({ notebookUri: uri, code }, o => outs.push(o));
  return { result, outs, text: outs.map(o => (o.kind === 'stream' ? o.text : '')).join('') };
}

function nextLost(h: ServerHarness, uri: string): Promise<SessionLostParams> {
  return new Promise(resolve => {
    const d = h.api.onSessionLost(l => { if (l.notebookUri === uri) { d.dispose(); resolve(l); } });
  });
}

describe('worker crashes and the output cap', () => {
  let h: ServerHarness;
  before(async () => {
    h = await startServer({ init: { poolSize: 3, warm: 1, outputMaxBytes: 10_000 } });
    assert.equal((await h.settled).state, 'ready');
  });
  after(() => h?.close());

  test('SIGKILL of the worker mid-cell: the cell is aborted with crash info, sessionLost arrives, next run binds fresh', async () => {
    const first = await h.api.bind(NB);
    await run(h, NB, 'v = 1');
    const lost = nextLost(h, NB);
    const started = new Promise<void>(resolve => {
      const d = h.api.onOutput(o => { if (o.kind === 'stream' && o.text.includes('spinning')) { d.dispose(); resolve(); } });
    });
    const cell = run(h, NB, 'print("spinning", flush=True)\nwhile True: pass');
    await started;
    process.kill(first.pid, 'SIGKILL');
    const r = await cell;
    assert.equal(r.result.status, 'aborted');
    assert.equal(r.result.crash?.signal, 'SIGKILL');
    assert.ok(r.result.crash?.message);
    const l = await lost;
    assert.equal(l.reason, 'crashed');
    assert.equal(l.signal, 'SIGKILL');
    assert.equal((await h.api.sessions()).some(s => s.notebookUri === NB), false);
    const next = await run(h, NB, 'v');
    assert.equal(next.result.error?.ename, 'NameError');   // fresh context, old state gone
    const again = await h.api.bind(NB);
    assert.notEqual(again.pid, first.pid);
    assert.equal(again.fresh, false);
    await h.api.unbind(NB);
  });

  test('a worker dying while idle is reported once with its exit status; the notebook rebinds', async () => {
    const b = await h.api.bind(NB);
    const lost = nextLost(h, NB);
    let count = 0;
    const counter = h.api.onSessionLost(l => { if (l.notebookUri === NB) count++; });
    process.kill(b.pid, 'SIGKILL');
    const l = await lost;
    assert.equal(l.signal, 'SIGKILL');
    const r = await run(h, NB, '6*7');
    assert.equal(r.result.result?.data['text/plain'], '42');
    counter.dispose();
    assert.equal(count, 1);
    await h.api.unbind(NB);
  });

  test('the notebook closed while its cell runs (deaf to SIGINT): the cell ends aborted, the worker is gone, a reopen runs fresh', async () => {
    const u = 'file:///tmp/pyctx-faults/closing.ipynb';
    const cell = `vscode-notebook-cell:/tmp/pyctx-faults/closing.ipynb#cell0`;
    const open = () => h.conn.sendNotification(DidOpenNotebookDocumentNotification.type, {
      notebookDocument: { uri: u, notebookType: 'jupyter-notebook', version: 1, cells: [{ kind: 2, document: cell }] },
      cellTextDocuments: [{ uri: cell, languageId: 'python', version: 1, text: '' }],
    });
    await open();
    const b = await h.api.bind(u);
    await run(h, u, 'kept = 1');
    const started = new Promise<void>(resolve => {
      const d = h.api.onOutput(o => { if (o.kind === 'stream' && o.text.includes('deaf')) { d.dispose(); resolve(); } });
    });
    const running = run(h, u, 'import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint("deaf", flush=True)\nwhile True: time.sleep(0.01)');
    await started;
    await h.conn.sendNotification(DidCloseNotebookDocumentNotification.type, {
      notebookDocument: { uri: u }, cellTextDocuments: [{ uri: cell }],
    });
    const r = await running;
    assert.equal(r.result.status, 'aborted');
    assert.ok(await waitFor(() => !alive(b.pid), 10_000), `worker ${b.pid} ended`);
    assert.equal((await h.api.sessions()).some(s => s.notebookUri === u), false);
    await open();
    const again = await run(h, u, 'kept');
    assert.equal(again.result.error?.ename, 'NameError', 'a fresh context');
    await h.api.unbind(u);
  });

  test('os._exit in a cell is a crash with its exit code, not a hang', async () => {
    const lost = nextLost(h, NB);
    const r = await run(h, NB, 'import os\nos._exit(7)');
    assert.equal(r.result.status, 'aborted');
    assert.equal(r.result.crash?.exitCode, 7);
    assert.equal((await lost).exitCode, 7);
  });

  test('output over the per-cell cap is cut with a visible note; the next cell starts a new budget', async () => {
    const u = 'file:///tmp/pyctx-faults/cap.ipynb';
    const r = await run(h, u, 'for i in range(100000):\n    print(i)\n"done"');
    assert.equal(r.result.status, 'ok');
    assert.equal(r.result.truncated, true);
    assert.equal(r.result.result?.data['text/plain'], "'done'");
    const notes = r.outs.filter(o => o.kind === 'truncated');
    assert.deepEqual(notes.map(n => n.kind === 'truncated' && n.limitBytes), [10_000]);
    assert.equal(r.outs[r.outs.length - 1].kind, 'truncated');
    assert.ok(Buffer.byteLength(r.text) <= 10_000);
    const full = Array.from({ length: 100000 }, (_, i) => `${i}\n`).join('');
    assert.ok(r.text.length > 5_000 && full.startsWith(r.text));
    const small = await run(h, u, 'print("ok")');
    assert.equal(small.text, 'ok\n');
    assert.equal(small.result.truncated, undefined);
    await h.api.unbind(u);
  });
});

describe('no usable Python', () => {
  test('the server stays up, reports what it tried and how to fix it, and requests fail with no_python', async () => {
    // node is started by absolute path, so an empty PATH hides only the interpreters.
    const h = await startServer({ env: { ...process.env, PATH: '/nonexistent-pyctx' } });
    try {
      const status = await h.settled;
      assert.equal(status.state, 'error');
      assert.deepEqual(status.tried, ['python3', 'python']);
      assert.match(status.message ?? '', /pyctx\.python/);
      await assert.rejects(h.api.bind(NB), (e: unknown) => errorCode(e) === 'no_python' && /pyctx\.python/.test((e as Error).message));
      await assert.rejects(h.api.execute({ notebookUri: NB, code: '1' }), (e: unknown) => errorCode(e) === 'no_python');
      await assert.rejects(h.api.stats(), (e: unknown) => errorCode(e) === 'no_python');
      assert.deepEqual(await h.api.sessions(), []);
      assert.equal(h.child.exitCode, null);
    } finally {
      await h.close();
    }
  });

  test('a configured interpreter that does not exist is named in the error', async () => {
    const h = await startServer({ init: { python: '/nonexistent/bin/python3' } });
    try {
      const status = await h.settled;
      assert.equal(status.state, 'error');
      assert.deepEqual(status.tried, ['/nonexistent/bin/python3']);
      assert.match(status.message ?? '', /\/nonexistent\/bin\/python3/);
    } finally {
      await h.close();
    }
  });
});

describe('server process death', () => {
  test('killing the server: the connection sees it, in-flight requests fail, workers do not outlive it; a new server works', async () => {
    const h = await startServer({ init: { poolSize: 2, warm: 1 } });
    let closed = false;
    h.conn.onClose(() => { closed = true; });
    assert.equal((await h.settled).state, 'ready');
    const b = await h.api.bind(NB);
    const pids = (await h.api.stats()).workers.map(w => w.pid);
    assert.ok(pids.includes(b.pid));
    const started = new Promise<void>(resolve => {
      const d = h.api.onOutput(o => { if (o.kind === 'stream' && o.text.includes('long')) { d.dispose(); resolve(); } });
    });
    const inflight = h.api.execute({ notebookUri: NB, code: 'import time\nprint("long", flush=True)\ntime.sleep(60)' });
    await started;
    h.child.kill('SIGKILL');
    assert.equal((await h.exited).signal, 'SIGKILL');
    assert.ok(await waitFor(() => closed));
    // What the LanguageClient does on close: dispose the connection, failing what was in flight.
    h.conn.dispose();
    await assert.rejects(inflight);
    // Workers notice their pipes closing and exit on their own.
    assert.ok(await waitFor(() => pids.every(p => !alive(p)), 15000), `orphans: ${pids.filter(alive)}`);
    await h.close();

    const h2 = await startServer({ init: { poolSize: 2, warm: 1 } });
    try {
      assert.equal((await h2.settled).state, 'ready');
      const r = await run(h2, NB, '40 + 2');
      assert.equal(r.result.result?.data['text/plain'], '42');
    } finally {
      await h2.close();
    }
  });

  test('a graceful shutdown ends every worker', async () => {
    const h = await startServer({ init: { poolSize: 2, warm: 2 } });
    assert.equal((await h.settled).state, 'ready');
    await h.api.bind(NB);
    const pids = (await h.api.stats()).workers.map(w => w.pid);
    assert.ok(pids.length >= 2);
    await h.close();
    assert.equal((await h.exited).code, 0);
    assert.ok(await waitFor(() => pids.every(p => !alive(p)), 10000), `left running: ${pids.filter(alive)}`);
  });
});

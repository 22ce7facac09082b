// The pool server driven over real stdio JSON-RPC (as vscode-languageclient does):
// binding and isolation of notebooks, streaming, rich output, input(), interrupt,
// restart, live completion/hover, sessions/stats/refs and their push notifications.
// Faults (crashes, output cap, no Python, server death) are in server-faults.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CompletionRequest, DidCloseNotebookDocumentNotification, DidOpenNotebookDocumentNotification, HoverRequest,
  type CompletionItem, type CompletionList, type MarkupContent,
} from 'vscode-languageserver-protocol/node';
import { errorCode } from '../../src/client/api';
import type { OutputPayload } from '../../src/protocol/lsp';
import { startServer, waitFor, type ServerHarness } from './server-harness';

let h: ServerHarness;
let tmp: string;
const nb = (name: string): string => pathToFileURL(path.join(tmp, name)).toString();
const streamText = (outs: OutputPayload[]): string =>
  outs.map(o => (o.kind === 'stream' ? o.text : '')).join('');

async function run(uri: string, code: string, extra: { cellIndex?: number; cwd?: string; silent?: boolean } = {}) {
  const outs: OutputPayload[] = [];
  const result = await h.api.execute({ notebookUri: uri, code, ...extra }, o => outs.push(o));
  return { result, outs, text: streamText(outs) };
}

before(async () => {
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'pyctx-server-')));
  h = await startServer({ init: { poolSize: 4, warm: 1 } });
  assert.equal((await h.settled).state, 'ready');
});
after(async () => {
  await h?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('initialize', () => {
  test('advertises completion, hover and notebook sync for jupyter-notebook python cells', () => {
    const caps = h.init.capabilities;
    assert.deepEqual(caps.completionProvider?.triggerCharacters, ['.']);
    assert.equal(caps.hoverProvider, true);
    const sync = caps.notebookDocumentSync as { notebookSelector: { notebook: { notebookType: string }; cells: { language: string }[] }[] };
    assert.equal(sync.notebookSelector[0].notebook.notebookType, 'jupyter-notebook');
    assert.deepEqual(sync.notebookSelector[0].cells, [{ language: 'python' }]);
  });
});

describe('sessions per notebook', () => {
  test('two notebooks get different workers and isolated state; state persists across cells', async () => {
    const a = nb('a.ipynb');
    const b = nb('b.ipynb');
    const ba = await h.api.bind(a);
    const bb = await h.api.bind(b);
    assert.notEqual(ba.pid, bb.pid);
    assert.notEqual(ba.sessionId, bb.sessionId);
    await run(a, 'x = 1');
    await run(b, 'x = 2');
    assert.equal((await run(a, 'x')).result.result?.data['text/plain'], '1');
    assert.equal((await run(b, 'x')).result.result?.data['text/plain'], '2');
    assert.equal((await run(a, 'x += 41\nx')).result.result?.data['text/plain'], '42');
    await h.api.unbind(a);
    await h.api.unbind(b);
  });

  test('bind is idempotent, also when racing; unbind twice is harmless', async () => {
    const u = nb('idem.ipynb');
    const [one, two] = await Promise.all([h.api.bind(u), h.api.bind(u)]);
    assert.equal(one.sessionId, two.sessionId);
    assert.equal([one.fresh, two.fresh].filter(Boolean).length, 1);
    const three = await h.api.bind(u);
    assert.deepEqual({ ...three, fresh: true }, { ...one, fresh: true });
    assert.equal(three.fresh, false);
    assert.deepEqual(await h.api.unbind(u), { unbound: true });
    assert.deepEqual(await h.api.unbind(u), { unbound: false });
  });

  test("the notebook's folder is the worker's cwd and sys.path[0]", async () => {
    const dir = mkdtempSync(path.join(tmp, 'nbdir-'));
    const u = pathToFileURL(path.join(dir, 'c.ipynb')).toString();
    const r = await run(u, 'import os, sys\nprint(os.getcwd())\nprint(sys.path[0])', { cwd: dir });
    assert.equal(r.result.status, 'ok');
    assert.deepEqual(r.text.trim().split('\n'), [dir, dir]);
    await h.api.unbind(u);
  });

  test('each cell sees its notebook, cell index and execution count as runtime context', async () => {
    const u = nb('ctx.ipynb');
    await run(u, '1');
    const r = await run(u, [
      'from pyctx_worker.runtime import get_context',
      'c = get_context()',
      'print(c.get("notebook_uri"), c.get("cell_index"), c.get("execution_count"))',
    ].join('\n'), { cellIndex: 7 });
    assert.equal(r.text.trim(), `${u} 7 ${r.result.executionCount}`);
    assert.equal(r.result.executionCount, 2);
    await h.api.unbind(u);
  });

  test('a silent run (API executeCode) is not counted and holds no result; the next cell continues the count', async () => {
    const u = nb('silent.ipynb');
    const b = await h.api.bind(u);
    assert.equal((await run(u, '10')).result.executionCount, 1);
    const quiet = await run(u, 'from pyctx_worker.runtime import get_context\nprint(get_context().get("execution_count"))\n1+1', { silent: true });
    assert.equal(quiet.result.status, 'ok');
    assert.equal(quiet.result.result?.data['text/plain'], '2', 'a silent run still returns its value');
    assert.equal(quiet.result.executionCount, 1, 'the count stays');
    assert.equal(quiet.text.trim(), '1', 'runtime context: no new count');
    assert.equal((await h.api.sessions()).find(s => s.notebookUri === u)?.executionCount, 1);
    // Held results: `_N` refs (built-in layer) or Out[N] history entries (IPython's shell).
    const results = (await h.api.refs(b.sessionId)).refs.filter(r => r.kind === 'result' || r.kind === 'history')
      .map(r => (r.kind === 'history' ? `_${r.executionCount}` : r.name)).sort();
    assert.deepEqual(results, ['_1'], 'no `_N` is held for the silent run');
    const next = await run(u, '3');
    assert.equal(next.result.executionCount, 2);
    assert.equal(next.result.result?.data['text/plain'], '3');
    await h.api.unbind(u);
  });

  test('a Python error is a normal reply with the traceback', async () => {
    const u = nb('err.ipynb');
    const r = await run(u, '1/0');
    assert.equal(r.result.status, 'error');
    assert.equal(r.result.error?.ename, 'ZeroDivisionError');
    assert.ok(r.result.error?.traceback.length);
    await h.api.unbind(u);
  });

  test('malformed requests fail with bad_request and lose nothing', async () => {
    await assert.rejects(h.api.bind(''), (e: unknown) => errorCode(e) === 'bad_request');
    await assert.rejects(h.api.execute({ notebookUri: nb('bad.ipynb'), code: 42 as unknown as string }),
      (e: unknown) => errorCode(e) === 'bad_request');
    assert.equal((await h.api.sessions()).some(s => s.notebookUri === nb('bad.ipynb')), false);
  });
});

describe('outputs', () => {
  test('100,000 printed lines all arrive, in order, in a bounded number of notifications', async () => {
    const u = nb('stream.ipynb');
    const r = await run(u, 'for i in range(100000):\n    print(i)');
    assert.equal(r.result.status, 'ok');
    const lines = r.text.split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, 100000);
    for (let i = 0; i < lines.length; i++) if (lines[i] !== String(i)) assert.fail(`line ${i} is ${lines[i]}`);
    // Coalesced: on average at least 50 lines per notification (here: ~30 notifications in all).
    assert.ok(r.outs.length < 2000, `${r.outs.length} notifications`);
    await h.api.unbind(u);
  });

  test('stdout and stderr arrive as their own streams, each in order', async () => {
    const u = nb('order.ipynb');
    const r = await run(u, 'import sys\nfor i in range(50):\n    print("o", i)\n    print("e", i, file=sys.stderr)');
    const of = (name: string) => r.outs.map(o => (o.kind === 'stream' && o.name === name ? o.text : '')).join('');
    assert.equal(of('stdout'), Array.from({ length: 50 }, (_, i) => `o ${i}\n`).join(''));
    assert.equal(of('stderr'), Array.from({ length: 50 }, (_, i) => `e ${i}\n`).join(''));
    await h.api.unbind(u);
  });

  test('PNG travels as base64 without loss; display() and display updates arrive', async () => {
    const u = nb('png.ipynb');
    const r = await run(u, [
      'png = bytes(range(256)) * 4',
      'class P:',
      '    def _repr_png_(self): return png',
      'display(P())',
      'P()',
    ].join('\n'));
    assert.equal(r.result.status, 'ok');
    const expected = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));
    const shown = r.outs.find(o => o.kind === 'display');
    assert.ok(shown && shown.kind === 'display');
    assert.equal(typeof shown.data['image/png'], 'string');
    assert.deepEqual(Buffer.from(shown.data['image/png'] as string, 'base64'), expected);
    assert.deepEqual(Buffer.from(r.result.result?.data['image/png'] as string, 'base64'), expected);
    await h.api.unbind(u);
  });

  test('outputs of concurrent executions in two notebooks are routed by executionId', async () => {
    const a = nb('ra.ipynb');
    const b = nb('rb.ipynb');
    const [ra, rb] = await Promise.all([
      run(a, 'for i in range(300): print("A", i)'),
      run(b, 'for i in range(300): print("B", i)'),
    ]);
    assert.ok(ra.text.split('\n').filter(Boolean).every(l => l.startsWith('A ')));
    assert.ok(rb.text.split('\n').filter(Boolean).every(l => l.startsWith('B ')));
    assert.equal(ra.text.split('\n').filter(Boolean).length, 300);
    await h.api.unbind(a);
    await h.api.unbind(b);
  });
});

describe('input()', () => {
  test('input() asks the client and the answer reaches Python, echoed in the output; getpass is masked; cancel raises', async () => {
    const u = nb('input.ipynb');
    const asked: { prompt: string; password: boolean; notebookUri: string }[] = [];
    const reg = h.api.setInputHandler(async p => {
      asked.push({ prompt: p.prompt, password: p.password, notebookUri: p.notebookUri });
      return p.prompt.startsWith('cancel') ? { cancelled: true } : { value: p.password ? 's3cret' : 'Ada' };
    });
    try {
      const r = await run(u, 'name = input("who? ")\nimport getpass\npw = getpass.getpass("pw: ")\nprint("hi", name, len(pw))');
      assert.equal(r.result.status, 'ok');
      assert.match(r.text, /hi Ada 6/);
      // Echoed as Jupyter does: the prompt and the answer, the password hidden, before later prints.
      assert.equal(r.text, 'who? Ada\npw: ········\nhi Ada 6\n');
      assert.ok(!r.text.includes('s3cret'), 'the password never reaches the output');
      assert.deepEqual(asked, [
        { prompt: 'who? ', password: false, notebookUri: u },
        { prompt: 'pw: ', password: true, notebookUri: u },
      ]);
      const c = await run(u, 'input("cancel me")');
      assert.equal(c.result.status, 'error');
      assert.equal(c.result.error?.ename, 'KeyboardInterrupt');
      assert.equal((await run(u, 'name')).result.result?.data['text/plain'], "'Ada'");
    } finally {
      reg.dispose();
      await h.api.unbind(u);
    }
  });
});

describe('input() when the run ends first', () => {
  test('an unanswered input request is cancelled on the client when the cell is interrupted', async () => {
    const u = nb('input-intr.ipynb');
    let asked!: () => void;
    const waiting = new Promise<void>(r => { asked = r; });
    const reg = h.api.setInputHandler((_p, token) => new Promise(resolve => {
      asked();
      token.onCancellationRequested(() => resolve({ cancelled: true }));
    }));
    try {
      const cell = run(u, 'input("never answered: ")');
      await waiting;
      assert.deepEqual(await h.api.interrupt(u), { interrupted: true });
      const r = await cell;
      assert.equal(r.result.status, 'error');
      assert.equal(r.result.error?.ename, 'KeyboardInterrupt');
      assert.equal((await run(u, '1+1')).result.result?.data['text/plain'], '2');
    } finally {
      reg.dispose();
      await h.api.unbind(u);
    }
  });

  test('restarting a notebook that waits in input() aborts the cell and cancels the request', async () => {
    const u = nb('input-restart.ipynb');
    let asked!: () => void;
    const waiting = new Promise<void>(r => { asked = r; });
    let cancelled = false;
    const reg = h.api.setInputHandler((_p, token) => new Promise(resolve => {
      asked();
      token.onCancellationRequested(() => { cancelled = true; resolve({ cancelled: true }); });
    }));
    try {
      const cell = run(u, 'input("never answered: ")');
      await waiting;
      await h.api.restart(u);
      assert.equal((await cell).result.status, 'aborted');
      assert.ok(await waitFor(() => cancelled));
    } finally {
      reg.dispose();
      await h.api.unbind(u);
    }
  });
});

describe('interrupt and restart', () => {
  test('interrupt stops a busy cell with KeyboardInterrupt and the notebook stays usable', async () => {
    const u = nb('intr.ipynb');
    await run(u, 'y = 5');
    const started = new Promise<void>(resolve => {
      void run(u, 'print("go", flush=True)\nwhile True: pass').then(r => { running = r; });
      const d = h.api.onOutput(o => { if (o.kind === 'stream' && o.text.includes('go')) { d.dispose(); resolve(); } });
    });
    let running: Awaited<ReturnType<typeof run>> | undefined;
    await started;
    assert.deepEqual(await h.api.interrupt(u), { interrupted: true });
    const r = await waitFor(() => running, 20000);
    assert.equal(r?.result.status, 'error');
    assert.equal(r?.result.error?.ename, 'KeyboardInterrupt');
    assert.equal((await run(u, 'y')).result.result?.data['text/plain'], '5');
    assert.deepEqual(await h.api.interrupt(u), { interrupted: false });
    await h.api.unbind(u);
  });

  test('restart gives a fresh context even when the worker ignores SIGINT; the running cell is aborted', async () => {
    const u = nb('restart.ipynb');
    const first = await h.api.bind(u);
    await run(u, 'z = 1');
    const started = new Promise<void>(resolve => {
      const d = h.api.onOutput(o => { if (o.kind === 'stream' && o.text.includes('deaf')) { d.dispose(); resolve(); } });
    });
    const stuck = run(u, 'import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint("deaf", flush=True)\nwhile True: pass');
    await started;
    const again = await h.api.restart(u);
    assert.notEqual(again.pid, first.pid);
    assert.equal(again.fresh, true);
    const r = await stuck;
    assert.equal(r.result.status, 'aborted');
    assert.match(r.result.crash?.message ?? '', /restart/);
    const after = await run(u, 'z');
    assert.equal(after.result.error?.ename, 'NameError');
    await h.api.unbind(u);
  });
});

describe('live completion and hover in notebook cells', () => {
  const cellUri = (u: string, i: number) => `vscode-notebook-cell:${u.slice('file:'.length)}#cell${i}`;

  test('completion of `x.` lists the live object\'s attributes; hover shows type and len', async () => {
    const u = nb('live.ipynb');
    const text = "x = {'alpha': 1}\nx.";
    await h.conn.sendNotification(DidOpenNotebookDocumentNotification.type, {
      notebookDocument: { uri: u, notebookType: 'jupyter-notebook', version: 1, cells: [{ kind: 2, document: cellUri(u, 0) }] },
      cellTextDocuments: [{ uri: cellUri(u, 0), languageId: 'python', version: 1, text }],
    });
    // Not bound yet: nothing (completion never binds a worker).
    const none = await h.conn.sendRequest(CompletionRequest.type, { textDocument: { uri: cellUri(u, 0) }, position: { line: 1, character: 2 } });
    assert.equal(none, null);
    await run(u, "x = {'alpha': 1}");
    // The worker's completer warms up in the background after the first cell; a
    // request over the 200 ms budget meanwhile is answered with nothing.
    const complete = () => h.conn.sendRequest(CompletionRequest.type, { textDocument: { uri: cellUri(u, 0) }, position: { line: 1, character: 2 } }) as Promise<CompletionList | null>;
    const list = await waitFor(complete, 20000, 100);
    assert.ok(list);
    const words = list.items.map((i: CompletionItem) => (i.textEdit && 'newText' in i.textEdit ? i.textEdit.newText : i.label));
    assert.ok(words.some(w => /(^|\.)keys\(?$/.test(w)), words.join(' '));
    const hover = await h.conn.sendRequest(HoverRequest.type, { textDocument: { uri: cellUri(u, 0) }, position: { line: 0, character: 0 } });
    const md = (hover?.contents as MarkupContent).value;
    assert.match(md, /dict/);
    assert.match(md, /len 1/);
    assert.match(md, /alpha/);
  });

  test('completion of `%ti` at a line start lists the magics, replacing the typed text', async () => {
    const u = nb('magic-complete.ipynb');
    await h.conn.sendNotification(DidOpenNotebookDocumentNotification.type, {
      notebookDocument: { uri: u, notebookType: 'jupyter-notebook', version: 1, cells: [{ kind: 2, document: cellUri(u, 0) }] },
      cellTextDocuments: [{ uri: cellUri(u, 0), languageId: 'python', version: 1, text: 'x = 1\n%ti' }],
    });
    await run(u, 'x = 1');
    const complete = () => h.conn.sendRequest(CompletionRequest.type, { textDocument: { uri: cellUri(u, 0) }, position: { line: 1, character: 3 } }) as Promise<CompletionList | null>;
    const list = await waitFor(complete, 20000, 100);
    assert.ok(list);
    const edits = list.items.map((i: CompletionItem) => i.textEdit && 'range' in i.textEdit ? [i.textEdit.newText, i.textEdit.range.start.character] : [i.label, -1]);
    assert.deepEqual(edits, [['%time', 0], ['%timeit', 0]]);
    await h.api.unbind(u);
  });

  test('completion answers while a cell runs (control thread), and closing the notebook unbinds it', async () => {
    const u = nb('live.ipynb');
    const started = new Promise<void>(resolve => {
      const d = h.api.onOutput(o => { if (o.kind === 'stream' && o.text.includes('busy')) { d.dispose(); resolve(); } });
    });
    const busy = run(u, 'import time\nprint("busy", flush=True)\ntime.sleep(3)');
    await started;
    const list = await waitFor(() => h.conn.sendRequest(CompletionRequest.type, { textDocument: { uri: cellUri(u, 0) }, position: { line: 1, character: 2 } }) as Promise<CompletionList | null>, 2500, 50);
    assert.ok(list && list.items.length > 0);
    assert.equal((await h.api.sessions()).find(s => s.notebookUri === u)?.state, 'running');
    await busy;
    await h.conn.sendNotification(DidCloseNotebookDocumentNotification.type, {
      notebookDocument: { uri: u }, cellTextDocuments: [{ uri: cellUri(u, 0) }],
    });
    assert.ok(await waitFor(async () => !(await h.api.sessions()).some(s => s.notebookUri === u)));
  });
});

describe('stats, sessions, refs', () => {
  test('sessions and stats reflect bindings; statsChanged is pushed', async () => {
    const u = nb('stats.ipynb');
    const pushed = new Promise<number>(resolve => {
      const d = h.api.onStatsChanged(s => { if (s.sessions.some(x => x.notebookUri === u)) { d.dispose(); resolve(s.size); } });
    });
    const b = await h.api.bind(u);
    assert.equal(await pushed, 4, 'pushed stats carry the pool size');
    const sessions = await h.api.sessions();
    const mine = sessions.find(s => s.notebookUri === u);
    assert.equal(mine?.pid, b.pid);
    assert.equal(mine?.state, 'idle');
    const st = await h.api.stats();
    assert.equal(st.size, 4, 'the configured pool size (poolSize), not the started workers');
    assert.ok(st.workers.some(w => w.pid === b.pid && w.owner === u));
    assert.ok(st.python.length > 0);
    await h.api.unbind(u);
    assert.equal((await h.api.sessions()).some(s => s.notebookUri === u), false);
  });

  test('refs are listed largest first and paged; releasing a variable deletes it; refsChanged is pushed', async () => {
    const u = nb('refs.ipynb');
    const b = await h.api.bind(u);
    const changed = new Promise<string>(resolve => {
      const d = h.api.onRefsChanged(r => { if (r.sessionId === b.sessionId) { d.dispose(); resolve(r.notebookUri ?? ''); } });
    });
    await run(u, 'small = [1]\nbig = bytearray(5_000_000)\nmid = list(range(10000))');
    assert.equal(await changed, u);
    const all = await h.api.refs(b.sessionId);
    const names = all.refs.filter(r => r.kind === 'variable').map(r => r.name);
    assert.ok(['small', 'big', 'mid'].every(n => names.includes(n)), names.join(','));
    const sizes = all.refs.map(r => r.sizeBytes);
    assert.deepEqual(sizes, [...sizes].sort((x, y) => y - x));
    assert.equal(all.refs[0].name, 'big');
    const page = await h.api.refs(b.sessionId, 1, 1);
    assert.equal(page.total, all.total);
    assert.deepEqual(page.refs.map(r => r.id), [all.refs[1].id]);
    const big = all.refs[0];
    assert.deepEqual(await h.api.releaseRef(b.sessionId, big.id), { released: true });
    // Listings are cached per session between changes; a release or a run shows at once.
    assert.equal((await h.api.refs(b.sessionId)).refs.some(r => r.id === big.id), false);
    assert.equal((await run(u, 'big')).result.error?.ename, 'NameError');
    await run(u, 'fresh_var = "x" * 100');
    assert.ok((await h.api.refs(b.sessionId)).refs.some(r => r.name === 'fresh_var'));
    assert.deepEqual(await h.api.releaseRef(b.sessionId, big.id), { released: false });
    const released = await h.api.releaseSession(b.sessionId);
    assert.ok(released.count >= 0);
    await h.api.unbind(u);
  });
});

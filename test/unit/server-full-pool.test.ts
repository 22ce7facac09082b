// A full pool never fails a notebook at once (server side, over real stdio JSON-RPC):
// a third notebook on a pool of 2 waits, is announced with pyctx/waitingForWorker
// (who holds the workers, least recently used first), runs once another notebook is
// unbound; a waiting cell is cancelled by pyctx/interrupt, a waiting bind by
// cancelling its request, and a crash frees a worker for a waiting notebook.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import { errorCode } from '../../src/client/api';
import type { WaitingForWorkerParams } from '../../src/protocol/lsp';
import { startServer, waitFor, type ServerHarness } from './server-harness';

let h: ServerHarness;
let tmp: string;
const nb = (name: string): string => pathToFileURL(path.join(tmp, name)).toString();
const waits: WaitingForWorkerParams[] = [];

before(async () => {
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'pyctx-fullpool-')));
  h = await startServer({ init: { poolSize: 2, warm: 1 } });
  assert.equal((await h.settled).state, 'ready');
  h.api.onWaitingForWorker(w => waits.push(w));
});
after(async () => {
  await h?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('full pool', () => {
  test('the third notebook waits (announced, holders LRU first) and runs once a worker frees', async () => {
    const [a, b, c] = [nb('a.ipynb'), nb('b.ipynb'), nb('c.ipynb')];
    await h.api.execute({ notebookUri: a, code: 'x = 1' });
    await h.api.execute({ notebookUri: b, code: 'y = 2' });
    await h.api.execute({ notebookUri: a, code: 'x' });   // a used last: b is least recently used
    waits.length = 0;
    const third = h.api.execute({ notebookUri: c, code: '"ran c"' });
    const announced = await waitFor(() => waits.find(w => w.notebookUri === c && w.waiting), 20_000);
    assert.deepEqual({ ...announced, holders: announced!.holders }, { notebookUri: c, waiting: true, bound: 2, size: 2, holders: [b, a] });
    let settled = false;
    void third.finally(() => { settled = true; });
    await new Promise(r => setTimeout(r, 500));
    assert.equal(settled, false, 'still waiting while every worker is bound');
    assert.ok((await h.api.unbind(b)).unbound);
    const r = await third;
    assert.equal(r.status, 'ok');
    assert.equal((r.result?.data as Record<string, unknown>)['text/plain'], "'ran c'");
    assert.ok(waits.some(w => w.notebookUri === c && !w.waiting), 'the end of the wait is announced');
    await h.api.unbind(c);
    await h.api.unbind(a);
  });

  test('interrupt cancels a waiting cell (wait_cancelled); cancelling a bind request ends its wait', async () => {
    const [a, b, c, d] = [nb('a2.ipynb'), nb('b2.ipynb'), nb('c2.ipynb'), nb('d2.ipynb')];
    await h.api.bind(a);
    await h.api.bind(b);
    waits.length = 0;
    const waiting = h.api.execute({ notebookUri: c, code: '1' });
    await waitFor(() => waits.find(w => w.notebookUri === c && w.waiting), 20_000);
    assert.deepEqual(await h.api.interrupt(c), { interrupted: true });
    await assert.rejects(waiting, (e: unknown) => errorCode(e) === 'wait_cancelled');

    const cts = new CancellationTokenSource();
    const bind = h.api.bind(d, undefined, undefined, cts.token);
    await waitFor(() => waits.find(w => w.notebookUri === d && w.waiting), 20_000);
    cts.cancel();
    await assert.rejects(bind);
    await waitFor(() => waits.find(w => w.notebookUri === d && !w.waiting), 20_000);
    assert.ok(!(await h.api.sessions()).some(s => s.notebookUri === c || s.notebookUri === d), 'nothing bound for the cancelled ones');
    await h.api.unbind(a);
    await h.api.unbind(b);
  });

  test('a crashed worker frees its place for a waiting notebook', async () => {
    const [a, b, c] = [nb('a3.ipynb'), nb('b3.ipynb'), nb('c3.ipynb')];
    const pa = (await h.api.bind(a)).pid;
    await h.api.bind(b);
    waits.length = 0;
    const third = h.api.execute({ notebookUri: c, code: '3' });
    await waitFor(() => waits.find(w => w.notebookUri === c && w.waiting), 20_000);
    process.kill(pa, 'SIGKILL');
    assert.equal((await third).status, 'ok');
    await h.api.unbind(b);
    await h.api.unbind(c);
  });
});

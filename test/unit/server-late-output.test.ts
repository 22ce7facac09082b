// Late output through the real pool server: text a cell's thread prints after the
// execute reply reaches the client as `pyctx/output` tagged `late: true` with that
// cell's executionId, coalesced and capped (outputMaxBytes per execution) like a
// run's own output. The thread is gated on a file the test creates after the reply.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OutputPayload } from '../../src/protocol/lsp';
import { startServer, waitFor, type ServerHarness } from './server-harness';

const MAX_BYTES = 8192;
let h: ServerHarness;
let tmp: string;
const late: OutputPayload[] = [];
const lateText = (executionId: string): string =>
  late.map(o => (o.executionId === executionId && o.kind === 'stream' ? o.text : '')).join('');

/** A cell whose thread waits for `gate` to exist, then prints `lines` lines. */
const gatedPrinter = (gate: string, lines: number, width = 10): string => [
  'import threading, os, time',
  'def _late():',
  `    while not os.path.exists(${JSON.stringify(gate)}): time.sleep(0.01)`,
  `    for i in range(${lines}): print(str(i).rjust(${width}, '.'), flush=True)`,
  'threading.Thread(target=_late, daemon=True).start()',
  "print('in cell')",
].join('\n');

before(async () => {
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'pyctx-late-')));
  h = await startServer({ init: { poolSize: 2, warm: 1, outputMaxBytes: MAX_BYTES } });
  assert.equal((await h.settled).state, 'ready');
  h.api.onOutput(o => { if (o.late) late.push(o); });
});
after(async () => {
  await h?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('late output', () => {
  test("a thread's prints after the reply arrive as late output of that cell, coalesced", async () => {
    const uri = pathToFileURL(path.join(tmp, 'a.ipynb')).toString();
    const gate = path.join(tmp, 'gate-a');
    const own: OutputPayload[] = [];
    const executionId = 'cell-a-1';
    const r = await h.api.execute({ notebookUri: uri, executionId, code: gatedPrinter(gate, 50) }, o => own.push(o));
    assert.equal(r.status, 'ok');
    assert.ok(own.every(o => !o.late), 'outputs during the run are not late');
    assert.equal(late.filter(o => o.executionId === executionId).length, 0, 'nothing late before the gate opens');
    writeFileSync(gate, '');
    const want = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(10, '.')}\n`).join('');
    assert.equal(await waitFor(() => lateText(executionId) === want), true, lateText(executionId));
    const mine = late.filter(o => o.executionId === executionId);
    assert.ok(mine.every(o => o.kind === 'stream' && o.name === 'stdout'));
    assert.ok(mine.length < 50, `50 prints were coalesced into ${mine.length} notifications`);
    // The next cell runs normally and its own output is not late.
    const next: OutputPayload[] = [];
    const r2 = await h.api.execute({ notebookUri: uri, executionId: 'cell-a-2', code: "print('next')" }, o => next.push(o));
    assert.equal(r2.status, 'ok');
    assert.deepEqual(next.map(o => [o.kind, o.late]), [['stream', undefined]]);
  });

  test('late text beyond outputMaxBytes is cut, with one truncated note for that execution', async () => {
    const uri = pathToFileURL(path.join(tmp, 'b.ipynb')).toString();
    const gate = path.join(tmp, 'gate-b');
    const executionId = 'cell-b-1';
    const r = await h.api.execute({ notebookUri: uri, executionId, code: gatedPrinter(gate, 2000, 20) }, () => undefined);
    assert.equal(r.status, 'ok');
    writeFileSync(gate, '');
    const notes = (): OutputPayload[] => late.filter(o => o.executionId === executionId && o.kind === 'truncated');
    assert.equal(await waitFor(() => notes().length === 1), true);
    assert.deepEqual(notes()[0], { executionId, late: true, kind: 'truncated', limitBytes: MAX_BYTES });
    assert.equal(Buffer.byteLength(lateText(executionId)), MAX_BYTES);
    // The session still runs cells (the thread's remaining prints were dropped, not queued).
    const r2 = await h.api.execute({ notebookUri: uri, code: "print('ok')" });
    assert.equal(r2.status, 'ok');
    assert.equal(notes().length, 1);
  });
});

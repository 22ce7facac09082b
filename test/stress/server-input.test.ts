// The pool server (bundled dist/server.js, as the extension runs it) under bad and
// huge input: 10,000 malformed LSP messages of every kind, then a valid request
// (the requirement: answered within 1 s; asserted only as answered, the
// latency is printed); 500 pyctx/* requests with mistyped params (bad_request
// each); and a cell printing 1 GiB (truncated to the cap, the server's memory
// stays put, stats requests are answered meanwhile). Prints server RSS before
// and after, and checks no worker outlives the server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode } from '../../src/client/api';
import { BAD_FRAMES, startServer, type ServerHarness } from '../unit/server-harness';
import { printFigures, running, rssMiB, sleep, TEST_PYTHON } from './stress-helpers';

const FLOOD_MIB = Number(process.env.PYCTX_STRESS_FLOOD_MIB || 1024);
let h: ServerHarness;
const workerPids = new Set<number>();

before(async () => {
  h = await startServer({ bundled: true, init: { python: TEST_PYTHON, poolSize: 2, warm: 1 } });
  assert.equal((await h.settled).state, 'ready');
});
after(async () => {
  for (const w of (await h.api.stats().catch(() => undefined))?.workers ?? []) workerPids.add(w.pid);
  await h?.close();
  const orphans = [...workerPids].filter(running);
  assert.deepEqual(orphans, [], 'worker processes outlived the server');
});

const write = (data: Buffer): Promise<void> => new Promise((resolve, reject) => h.child.stdin.write(data, e => (e ? reject(e) : resolve())));

test('10,000 malformed LSP messages, then a valid request is answered', { timeout: 10 * 60_000 }, async () => {
  const pid = h.child.pid!;
  const rssBefore = rssMiB(pid);
  const kinds = Object.values(BAD_FRAMES);
  const N = 10_000;
  for (let i = 0; i < N; i += 500) {
    const batch = Array.from({ length: Math.min(500, N - i) }, (_, j) => kinds[(i + j) % kinds.length]).join('');
    await write(Buffer.from(batch, 'latin1'));
  }
  const t0 = Date.now();
  let guard: NodeJS.Timeout | undefined;
  const stats = await Promise.race([h.api.stats(), new Promise<undefined>(r => { guard = setTimeout(() => r(undefined), 60_000); })]);
  clearTimeout(guard);
  const answerMs = Date.now() - t0;
  assert.ok(stats, 'a valid request after the malformed ones got no answer (hang guard: 60 s)');
  assert.equal(stats.size, 2);

  // Mistyped params on every pyctx/* request: each one a bad_request, none binds anything.
  const mistyped: [string, unknown][] = [
    ['pyctx/bind', { notebookUri: 'file:///s.ipynb', cwd: 12345 }], ['pyctx/execute', { notebookUri: 'file:///s.ipynb', executionId: 1, code: 'x' }],
    ['pyctx/unbind', {}], ['pyctx/restart', { notebookUri: null }], ['pyctx/interrupt', []], ['pyctx/refs', { sessionId: 's', offset: -1 }],
    ['pyctx/releaseRef', { sessionId: 's', refId: 7 }], ['pyctx/releaseSession', { sessionId: '' }], ['pyctx/stats', { a: 1 }],
    ['pyctx/sessions', [1]], ['pyctx/configure', { maxRefsPerSession: 'many' }],
  ];
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => {
    const [method, params] = mistyped[i % mistyped.length];
    return h.conn.sendRequest(method, params).then(() => 'accepted', e => errorCode(e) ?? 'other');
  }));
  const byCode: Record<string, number> = {};
  for (const c of results) byCode[c] = (byCode[c] ?? 0) + 1;
  const after = await h.api.stats();
  const logLines = h.stderr().split('\n').filter(l => l.includes('malformed LSP') || l.includes('skipped an LSP message')).length;
  printFigures('10,000 malformed LSP messages', {
    messages: N, kinds: kinds.length, validRequestAnsweredMs: answerMs, mistypedRequests: results.length, answersByCode: byCode,
    checkedOutAfter: after.checkedOut, serverLogLines: logLines, serverRssMiB: `${rssBefore} -> ${rssMiB(pid)}`,
  });
  assert.deepEqual(byCode, { bad_request: 500 });
  assert.equal(after.checkedOut, 0);
  assert.ok(logLines <= 40, `${logLines} log lines: the log is rate-limited`);
});

test(`a cell printing ${FLOOD_MIB} MiB: truncated at the cap, the server stays responsive and small`, { timeout: 20 * 60_000 }, async () => {
  const pid = h.child.pid!;
  const rssBefore = rssMiB(pid);
  let received = 0;
  let truncatedNotice = false;
  const uri = 'file:///tmp/pyctx-stress/flood.ipynb';
  const t0 = Date.now();
  let done = false;
  const run = h.api.execute({
    notebookUri: uri,
    code: `import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(${FLOOD_MIB}): sys.stdout.write(chunk)\nprint('end')`,
  }, o => {
    if (o.kind === 'stream') received += o.text.length;
    if (o.kind === 'truncated') truncatedNotice = true;
  }).finally(() => { done = true; });
  // Meanwhile: stats requests keep being answered; the server's memory is sampled.
  let statsAnswered = 0;
  let maxStatsMs = 0;
  let maxRss = rssBefore;
  while (!done) {
    const s0 = Date.now();
    const s = await h.api.stats();
    for (const w of s.workers) workerPids.add(w.pid);
    maxStatsMs = Math.max(maxStatsMs, Date.now() - s0);
    statsAnswered++;
    maxRss = Math.max(maxRss, rssMiB(pid));
    await Promise.race([run.catch(() => undefined), sleep(250)]);
  }
  const r = await run;
  const seconds = (Date.now() - t0) / 1000;
  const rssAfter = rssMiB(pid);
  printFigures(`${FLOOD_MIB} MiB output flood`, {
    status: r.status, truncated: r.truncated === true, truncatedNotice, textReceivedBytes: received, seconds: seconds.toFixed(1),
    throughputMiBs: (FLOOD_MIB / seconds).toFixed(1), statsAnsweredDuring: statsAnswered, maxStatsAnswerMs: maxStatsMs,
    serverRssMiB: `${rssBefore} -> max ${maxRss} -> ${rssAfter}`,
  });
  assert.equal(r.status, 'ok');
  assert.equal(r.truncated, true);
  assert.ok(received <= 4 * 1024 * 1024 + 65536, `the client got ${received} bytes past the 4 MiB cap`);
  // Not a timing bound: the flood must not be held in memory (it is 1 GiB; the cap is 4 MiB).
  assert.ok(maxRss - rssBefore < 512, `server RSS grew by ${maxRss - rssBefore} MiB during the flood`);
  // The notebook still works afterwards.
  const again = await h.api.execute({ notebookUri: uri, code: '6 * 7' });
  assert.equal(again.result?.data['text/plain'], '42');
});

// Bad input to the pool server: malformed LSP frames of every kind (the reader
// skips each with one log line and resynchronises on the next Content-Length) and
// pyctx/* requests whose params do not match their declared types (bad_request,
// nothing reaches a worker). Parser cases run on the pure LspFrameParser; the
// rest against the real server process over its stdin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode } from '../../src/client/api';
import { LspFrameParser } from '../../src/server/lspReader';
import { BAD_FRAMES, frame, startServer, VALID, type ServerHarness } from './server-harness';

function parse(input: string[]): { bodies: string[]; bad: string[] } {
  const bodies: string[] = [];
  const bad: string[] = [];
  const p = new LspFrameParser(b => bodies.push(b.toString('utf8')), r => bad.push(r), 1 << 20);
  for (const chunk of input) p.push(Buffer.from(chunk, 'latin1'));
  return { bodies, bad };
}

describe('LspFrameParser', () => {
  for (const [kind, bytes] of Object.entries(BAD_FRAMES)) {
    if (kind.startsWith('body')) continue;   // framing is fine; the reader rejects the body
    test(`${kind}: reported once, the next message is read`, () => {
      const { bodies, bad } = parse([bytes + frame(VALID)]);
      assert.deepEqual(bodies, [VALID]);
      assert.equal(bad.length, 1, bad.join('; '));
    });
    test(`${kind}: the same, fed one byte at a time`, () => {
      const all = bytes + frame(VALID) + frame(VALID);
      const { bodies, bad } = parse([...all]);
      assert.deepEqual(bodies, [VALID, VALID]);
      assert.equal(bad.length, 1, bad.join('; '));
    });
  }

  test('an oversized length is refused at once: its body is never waited for', () => {
    const { bodies, bad } = parse(['Content-Length: 2000000\r\n\r\n', frame(VALID)]);
    assert.deepEqual(bodies, [VALID]);
    assert.match(bad[0], /over the maximum/);
  });

  test('a header that never ends is dropped after 8 KiB', () => {
    const { bodies, bad } = parse(['X-Filler: ' + 'a'.repeat(10_000), frame(VALID)]);
    assert.deepEqual(bodies, [VALID]);
    assert.equal(bad.length, 1);
  });

  test('well-formed streams: several messages per chunk, extra headers, multi-byte text', () => {
    const text = '{"jsonrpc":"2.0","method":"ü€"}';
    const { bodies, bad } = parse([frame(VALID) + `Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n${frame(VALID)}`, Buffer.from(frame(text)).toString('latin1')]);
    assert.deepEqual(bodies, [VALID, VALID, text]);
    assert.deepEqual(bad, []);
  });
});

describe('the real server under bad input', () => {
  let h: ServerHarness;
  before(async () => {
    h = await startServer({ init: { poolSize: 1, warm: 1 } });
    assert.equal((await h.settled).state, 'ready');
  });
  after(() => h?.close());

  test('each malformed frame is skipped with one log line; requests are still answered', async () => {
    for (const [kind, bytes] of Object.entries(BAD_FRAMES)) {
      h.child.stdin.write(Buffer.from(bytes, 'latin1'));
      const s = await h.api.stats();
      assert.equal(s.size, 1, kind);
    }
    assert.match(h.stderr(), /skipped a malformed LSP message \(Content-Length is not a non-negative integer: "-40"\)/);
    assert.match(h.stderr(), /header line without a colon/);
    assert.match(h.stderr(), /not a JSON object/);
  });

  test('params that do not match their type are a bad_request naming the field', async () => {
    const bad = async (method: string, params: unknown, field: RegExp) => {
      const err = await h.conn.sendRequest(method, params).then(() => undefined, e => e);
      assert.ok(err, `${method} ${JSON.stringify(params)} was accepted`);
      assert.equal(errorCode(err), 'bad_request', `${method}: ${String(err?.message)}`);
      assert.match(String(err.message), field);
    };
    await bad('pyctx/bind', { notebookUri: 'file:///x.ipynb', cwd: 12345 }, /cwd must be a non-empty string, got 12345/);
    await bad('pyctx/bind', { notebookUri: 7 }, /notebookUri/);
    await bad('pyctx/bind', { notebookUri: 'file:///x.ipynb', owner: 'me' }, /unknown field "owner"/);
    await bad('pyctx/execute', { notebookUri: 'file:///x.ipynb', executionId: 'e1', code: 'print(1)', cellIndex: -1 }, /cellIndex must be an integer >= 0/);
    await bad('pyctx/execute', { notebookUri: 'file:///x.ipynb', executionId: 'e1', code: 5 }, /code must be a string/);
    await bad('pyctx/execute', { notebookUri: 'file:///x.ipynb', executionId: 'e1', code: '', silent: 'yes' }, /silent must be true or false/);
    await bad('pyctx/refs', { sessionId: 's', limit: 1.5 }, /limit/);
    await bad('pyctx/releaseRef', { sessionId: 's' }, /refId must be a non-empty string, got nothing/);
    await bad('pyctx/unbind', 'file:///x.ipynb', /needs an object/);
    await bad('pyctx/stats', { verbose: true }, /takes no params/);
    await bad('pyctx/configure', { outputMaxBytes: 'big' }, /outputMaxBytes/);
    // None of it bound anything; a good request still works.
    assert.equal((await h.api.stats()).checkedOut, 0);
    const ok = await h.api.execute({ notebookUri: 'file:///tmp/ok.ipynb', code: '6 * 7' });
    assert.equal(ok.status, 'ok');
    assert.equal(ok.result?.data['text/plain'], '42');
  });
});

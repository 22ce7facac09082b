// The shipped bundle dist/server.js (what the extension starts) runs on its own:
// it finds python/pyctx_worker from dist/, serves a cell and its outputs. Built by
// `npm run build` (npm test builds first); skipped with a note when absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { OutputPayload } from '../../src/protocol/lsp';
import { ROOT, startServer } from './server-harness';

const bundle = path.join(ROOT, 'dist', 'server.js');

test('dist/server.js serves a notebook cell', { skip: !existsSync(bundle) && 'dist/server.js not built (npm run build)' }, async () => {
  const h = await startServer({ bundled: true, init: { poolSize: 1, warm: 1 } });
  try {
    assert.equal((await h.settled).state, 'ready');
    const outs: OutputPayload[] = [];
    const r = await h.api.execute({ notebookUri: 'file:///tmp/bundle.ipynb', code: 'print("hi")\n6*7' }, o => outs.push(o));
    assert.equal(r.result?.data['text/plain'], '42');
    assert.deepEqual(outs.map(o => o.kind === 'stream' && o.text), ['hi\n']);
  } finally {
    await h.close();
  }
});

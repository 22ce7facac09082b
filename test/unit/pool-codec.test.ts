// Both codec paths of the worker against the pool's msgpackr framing: the worker's
// own pure codec (forced with PYCTX_CODEC=pure, so the test does not depend on which
// python3 is first on PATH) and Debian's /usr/bin/python3 with the C msgpack from
// python3-msgpack. A representative subset: exec with streams, eval of every plain
// type both ways, refs. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isRef, Pool } from '../../src/pool/index';
import { rejectsWith } from './pool-helpers';

const pythons: { python: string; codec: RegExp; env?: Record<string, string> }[] = [
  { python: 'python3', codec: /pure/i, env: { PYCTX_CODEC: 'pure' } },
];
if (existsSync('/usr/bin/python3')) pythons.push({ python: '/usr/bin/python3', codec: /msgpack/i });

for (const { python, codec, env } of pythons) {
  test(`codec path of ${python}${env ? ' (pure codec)' : ''}`, async t => {
    const pool = await Pool.start({ python, size: 1, warm: 1, env });
    t.after(() => pool.close());
    assert.match(pool.codec, codec);
    const ctx = await pool.bind('new');

    await t.test('exec streams and result', async () => {
      let out = '';
      const r = await ctx.execute('import os\nfor i in range(3): print(i)\nos.write(1, "é\\n".encode())\n"done"', { onStream: s => { out += s.text; } });
      assert.equal(out, '0\n1\n2\né\n');
      assert.equal(r.result!.data['text/plain'], "'done'");
    });

    await t.test('plain values round trip', async () => {
      const values: unknown[] = [null, true, false, 0, -1, 127, 128, 255, 65536, -33, -(2 ** 31), 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1),
        1.5, -0.25, 1e300, '', 'ascii', 'ünïcødé ✓', 'x'.repeat(70000), Buffer.from([]), Buffer.alloc(70000, 7),
        [], [1, [2, [3]]], {}, { a: { b: [null, 'c'] } }, Array.from({ length: 20 }, (_, i) => i)];
      const back = await ctx.eval('v', { v: values });
      assert.deepEqual(back, values);
      assert.equal(await ctx.eval('2**63 - 1'), 2n ** 63n - 1n);
      assert.deepEqual(await ctx.eval('(1, (2, 3))'), [1, [2, 3]]);
    });

    await t.test('refs', async () => {
      const p = await ctx.call('re', 'compile', ['b+']);
      assert.ok(isRef(p));
      assert.equal(await ctx.method(p, 'sub', ['-', 'abbbc']), 'a-c');
      assert.equal(await pool.releaseRef(p), true);
      await rejectsWith(ctx.attr(p, 'pattern'), 'ref_not_found');
    });

    await ctx.unbind();
  });
}

// PoolOptions.ipython through real workers: 'auto' runs cells with IPython's shell when
// the interpreter has it (/usr/bin/python3: IPython 8.5 + matplotlib_inline), 'off'
// keeps the built-in layer; hello's mode reaches pool.shell; figures follow the result
// (ExecuteResult.afterResult), as Jupyter orders them; eval stays on its direct path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Pool } from '../../src/pool/index';
import { rejectsWith, startPool, TEST_PYTHON } from './pool-helpers';

const DEBIAN = '/usr/bin/python3';
function has(python: string, mod: string): boolean {
  try { execFileSync(python, ['-c', `import ${mod}`], { stdio: 'ignore' }); return true; } catch { return false; }
}
const debianIPython = has(DEBIAN, 'IPython') && has(DEBIAN, 'matplotlib_inline');

test('an unknown ipython mode is refused with a clear message', async () => {
  const e = await rejectsWith(Pool.start({ python: TEST_PYTHON, ipython: 'on' as 'auto' }), 'invalid_argument');
  assert.match(e.message, /ipython must be 'auto' or 'off'/);
});

test("ipython: 'off' keeps the built-in layer, and says so", async () => {
  const pool = await startPool({ ipython: 'off', size: 1, warm: 1 });
  assert.equal(pool.shell, 'builtin');
  assert.equal(pool.ipythonVersion, null);
  const ctx = await pool.bind('new');
  const r = await ctx.execute("'IPython.core.interactiveshell' in __import__('sys').modules");
  assert.equal(r.result?.data['text/plain'], 'False');
  await ctx.unbind();
});

test('auto under an interpreter with IPython: its shell runs cells, figures follow the result', { skip: !debianIPython && `${DEBIAN} lacks IPython or matplotlib_inline` }, async () => {
  const pool = await startPool({ python: DEBIAN, size: 1, warm: 1 });
  assert.equal(pool.shell, 'ipython');
  assert.match(pool.ipythonVersion ?? '', /^\d+\.\d+/);
  const ctx = await pool.bind('new');
  const order: string[] = [];
  await ctx.execute("%config InlineBackend.figure_format = 'retina'\nimport matplotlib.pyplot as plt");
  const r = await ctx.execute('plt.plot([1, 2, 3])', { onDisplay: () => order.push('display') });
  assert.deepEqual(order, [], 'the figure is not shown before the result');
  assert.match(String(r.result?.data['text/plain']), /Line2D/);
  assert.equal(r.afterResult?.length, 1);
  assert.ok(r.afterResult![0].data['image/png'] instanceof Uint8Array);
  assert.ok((r.afterResult![0].metadata['image/png'] as { width: number }).width > 0, 'retina: shown at half size');
  const e = await ctx.execute('1/0');
  assert.equal(e.status, 'error');
  assert.ok(e.error!.traceback.some(l => l.includes('\x1b[')), 'IPython colours its traceback');
  assert.equal(await ctx.eval('1+1'), 2);
  const refs = await ctx.refs();
  assert.ok(refs.some(x => x.kind === 'history' && x.name?.startsWith('Out[')), 'output history listed as its own kind');
  await ctx.unbind();
});

// Traceback frames of cells are shown as IPython's `Cell In[N], line M` headers,
// which VS Code's error renderer turns into links revealing that cell and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkCellFrames } from '../../src/kernel/tracebackLinks';

test('cell frames become Cell In[N] headers; file frames and other lines stay', () => {
  assert.equal(linkCellFrames('  File "<cell-2>", line 1, in <module>\n    f()'), '  Cell In[2], line 1, in <module>\n    f()');
  assert.equal(linkCellFrames('  File "<cell-7.3>", line 12, in shout\n    return 1/0'), '  Cell In[7], line 12, in shout\n    return 1/0');
  assert.equal(linkCellFrames('  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads'), '  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads');
  assert.equal(linkCellFrames('ZeroDivisionError: division by zero'), 'ZeroDivisionError: division by zero');
  // The renderer's own pattern (VS Code notebook-renderers, stackTraceHelper) must match the result.
  const vscodeCellHeader = /^(?<prefix>(?:\u001b\[[\d;]*m|\s)*Cell(?:\u001b\[[\d;]*m|\s)*In(?:\u001b\[[\d;]*m|\s)*\[(?<executionCount>\d+)\](?:\u001b\[[\d;]*m|\s|,)+)(?<lineLabel>line (?<lineNumber>\d+))[^\n]*$/m;
  const m = vscodeCellHeader.exec(linkCellFrames('  File "<cell-4>", line 3, in f'));
  assert.equal(m?.groups?.executionCount, '4');
  assert.equal(m?.groups?.lineNumber, '3');
});

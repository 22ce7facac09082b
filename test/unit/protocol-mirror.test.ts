// The wire contract exists twice: src/protocol/wire.ts and its Python mirror
// python/pyctx_worker/protocol.py. This test dumps the Python constants as JSON
// (with the real interpreter) and asserts both sides name the same things.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as wire from '../../src/protocol/wire';

const pythonDir = path.resolve(__dirname, '../../python');
const dump = `
import json, sys
sys.path.insert(0, ${JSON.stringify(pythonDir)})
import importlib.util
spec = importlib.util.spec_from_file_location('protocol', ${JSON.stringify(path.join(pythonDir, 'pyctx_worker', 'protocol.py'))})
p = importlib.util.module_from_spec(spec); spec.loader.exec_module(p)
def consts(cls):
    return sorted(v for k, v in vars(cls).items() if k.isupper())
print(json.dumps({
  'PROTOCOL_VERSION': p.PROTOCOL_VERSION, 'DEFAULT_MAX_FRAME_BYTES': p.DEFAULT_MAX_FRAME_BYTES,
  'CONTROL_FD': p.CONTROL_FD, 'CONTROL_MARK': p.CONTROL_MARK, 'INBAND_ENV': p.INBAND_ENV, 'REF_TYPE': p.REF_TYPE, 'REF_SCHEMA': p.REF_SCHEMA,
  'Op': consts(p.Op), 'CONTROL_OPS': sorted(p.CONTROL_OPS), 'Event': consts(p.Event),
  'ErrorCode': consts(p.ErrorCode),
}))
`;

test('python/pyctx_worker/protocol.py mirrors src/protocol/wire.ts', () => {
  const py = JSON.parse(execFileSync('python3', ['-c', dump], { encoding: 'utf8' }));
  assert.equal(py.PROTOCOL_VERSION, wire.PROTOCOL_VERSION);
  assert.equal(py.DEFAULT_MAX_FRAME_BYTES, wire.DEFAULT_MAX_FRAME_BYTES);
  assert.equal(py.CONTROL_FD, wire.CONTROL_FD);
  assert.equal(py.CONTROL_MARK, wire.CONTROL_MARK);
  assert.equal(py.INBAND_ENV, wire.INBAND_ENV);
  assert.equal(py.REF_TYPE, wire.REF_TYPE);
  assert.equal(py.REF_SCHEMA, wire.REF_SCHEMA);
  assert.deepEqual(py.Op, Object.values(wire.Op).sort());
  assert.deepEqual(py.CONTROL_OPS, [...wire.CONTROL_OPS].sort());
  assert.deepEqual(py.Event, Object.values(wire.Event).sort());
  assert.deepEqual(py.ErrorCode, Object.values(wire.WireErrorCode).sort());
});

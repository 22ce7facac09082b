// Entry of the integration suite that runs inside a real VS Code (code-server via
// scripts/vscode/run-tests.mjs, or desktop VS Code via scripts/vscode/run-electron.mjs).
// The extension host require()s the bundle dist/test/vscode/index.js and awaits run().
//
// Adding a test file is enough: every dist/test/vscode/*.test.js next to this
// bundle is loaded (scripts/build.mjs bundles each test/vscode/*.ts). Both mocha
// interfaces work: `suite`/`test`/`setup` and `describe`/`it`/`before`.
// Helpers shared by test files live in test/vscode/support/ (bundled into each file).
//
// Env (set by the runners, inherited by the extension host):
//   PYCTX_TEST_FILES   comma-separated name filters, e.g. "activation" (the vsix smoke run)
//   PYCTX_TEST_GREP    mocha grep on test titles
import fs from 'node:fs';
import path from 'node:path';

type MochaCtor = typeof import('mocha');
// mocha 12 is an ES module; require(esm) gives its namespace (node 20) or the class (node 24).
const mochaModule = require('mocha') as MochaCtor & { Mocha?: MochaCtor };
const Mocha = mochaModule.Mocha ?? mochaModule;

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 120_000, reporter: 'spec' });
  Mocha.interfaces.bdd(mocha.suite); // describe/it as well as suite/test
  const grep = process.env.PYCTX_TEST_GREP;
  if (grep) mocha.grep(grep);
  const filters = (process.env.PYCTX_TEST_FILES ?? '').split(',').map(s => s.trim()).filter(Boolean);
  const files = fs.readdirSync(__dirname)
    .filter(f => f.endsWith('.test.js'))
    .filter(f => !filters.length || filters.some(x => f.includes(x)))
    .sort();
  if (!files.length) return Promise.reject(new Error(`no test files in ${__dirname} match ${filters.join(',')}`));
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  console.log(`pyctx suite: ${files.join(', ')}`);
  return new Promise((resolve, reject) => {
    try {
      mocha.run(failures => (failures ? reject(new Error(`${failures} test(s) failed`)) : resolve()));
    } catch (e) { reject(e); }
  });
}

// Bundles everything that ships or runs inside VS Code with esbuild:
//   dist/extension.js   the VS Code extension (vscode external)
//   dist/server.js      the pool server (LSP over stdio), started by the extension
//   dist/cli.js         the `pyctx` command line (bin/pyctx.js loads it)
//   dist/index.cjs/.mjs the library (`require('pyctx')` / `import ... from 'pyctx'`)
//   dist/test/vscode/   the integration suite run inside a real VS Code
//   dist/types/         declarations of the library (tsc)
// Entries whose source does not exist yet are skipped with a note, so one area can
// build before another has landed.
import { build } from 'esbuild';
import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning' };

const entries = [
  { in: 'src/extension.ts', out: 'dist/extension.js', external: ['vscode'] },
  { in: 'src/server/main.ts', out: 'dist/server.js' },
  { in: 'src/cli/main.ts', out: 'dist/cli.js' },
  { in: 'src/pool/index.ts', out: 'dist/index.cjs' },
];
const vscodeTests = existsSync('test/vscode')
  ? readdirSync('test/vscode').filter(f => f.endsWith('.ts')).map(f => `test/vscode/${f}`)
  : [];

const jobs = [];
for (const e of entries) {
  if (!existsSync(e.in)) { console.log(`build: skip ${e.out} (${e.in} not written yet)`); continue; }
  jobs.push(build({ ...common, entryPoints: [e.in], outfile: e.out, external: e.external ?? [] }));
}
if (vscodeTests.length) {
  // mocha stays external: it is loaded from node_modules inside the extension host.
  jobs.push(build({ ...common, entryPoints: vscodeTests, outdir: 'dist/test/vscode', external: ['vscode', 'mocha'] }));
}
await Promise.all(jobs);

if (existsSync('dist/index.cjs')) {
  // ESM entry: re-export the CJS bundle (esbuild's output is readable by Node's cjs lexer).
  writeFileSync('dist/index.mjs',
    "import lib from './index.cjs';\nexport const { Pool, PyCtxError, isRef } = lib;\nexport default lib;\n");
  mkdirSync('dist/types', { recursive: true });
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.lib.json'], { stdio: 'inherit' });
  } catch { console.log('build: declaration emit failed (see above); library JS is built'); process.exitCode = 1; }
}
// Precompile the worker's bytecode: with PYTHONDONTWRITEBYTECODE set (common in
// containers) every worker start would otherwise recompile the package (~10 ms CPU,
// ~1.3 MiB RSS). Best effort: a missing python3 only costs that start-up time.
try {
  execFileSync('python3', ['-m', 'compileall', '-q', 'python/pyctx_worker'], { stdio: 'ignore', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '' } });
} catch { console.log('build: could not precompile python/pyctx_worker (python3 missing?)'); }
console.log('build: done');

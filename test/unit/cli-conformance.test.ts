// Conformance with Jupyter on notebooks nobody on this team wrote: every notebook under
// ../shared/conformance (nbclient's and nbconvert's own test notebooks, see its
// SOURCES.md; read from there, never copied into the project) runs through
// `pyctx run --python /usr/bin/python3` and through `jupyter nbconvert --execute`
// (ipykernel on the same interpreter), and the two copies are compared cell by cell
// (test/unit/conformance-compare.ts says what is normalized). Every remaining difference
// must be listed in docs/jupyter-differences.json with its reason (docs/jupyter-
// differences.md explains them): an unlisted one fails the notebook's test. Listed ones
// that no longer occur are reported as diagnostics, so the list can shrink.
//
// Cost: pyctx runs every notebook in one process per flag group with -j 2; nbconvert
// executes each notebook once, in a few batched processes two at a time, alongside; the
// bare pass (below) follows the main pyctx pass while nbconvert still runs.
// The run's wall time is reported as a diagnostic.
// Skips (with the reason) when ../shared/conformance or nbconvert/ipykernel is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import path from 'node:path';
import { makeTmp, readNb, ROOT, runCli } from './cli-helpers';
import { compareNotebooks, type Difference } from './conformance-compare';
import { USAGE } from '../../src/cli/usage';

const CONF = path.resolve(ROOT, '..', 'shared', 'conformance');
const ALLOW_FILE = path.join(ROOT, 'docs', 'jupyter-differences.json');
const PY = '/usr/bin/python3';
const DEFAULT_TIMEOUT_S = 120;

/** Notebooks that need other run flags, the same on both sides. */
const SPECIAL: Record<string, { timeoutS?: number; strict?: boolean; why: string }> = {
  'nbclient/Interrupt.ipynb': { timeoutS: 3, why: 'a cell loops forever; both sides interrupt it at the timeout and go on' },
  'nbclient/Skip Exceptions with Cell Tags.ipynb': { strict: true, why: 'run without --allow-errors: the raises-exception tags must carry it' },
  'nbclient/Skip Execution with Cell Tag.ipynb': { strict: true, why: 'run without --allow-errors: the skip-execution tag must carry it' },
  // nbconvert stops a batch at the first notebook whose kernel dies.
  'nbclient/Autokill.ipynb': { why: 'kills its own kernel: nbconvert gives up on it (DeadKernelError)' },
};

/** One listed difference; `reason` names one or more `### key` sections of docs/jupyter-differences.md. */
interface Allowed { notebook: string; cell: number; aspect: string; reason: string | string[] }
const DOC_FILE = path.join(ROOT, 'docs', 'jupyter-differences.md');

const haveConformance = existsSync(path.join(CONF, 'SOURCES.md'));
const haveJupyter = spawnSync('jupyter-nbconvert', ['--version'], { stdio: 'ignore' }).status === 0
  && spawnSync(PY, ['-c', 'import ipykernel'], { stdio: 'ignore' }).status === 0;
const skipWhy = !haveConformance ? `no conformance notebooks at ${CONF}`
  : !haveJupyter ? 'jupyter-nbconvert / python3-ipykernel not installed (scripts/setup.sh installs them)' : undefined;

const notebooks: string[] = haveConformance
  ? ['nbclient', 'nbconvert'].flatMap(d => readdirSync(path.join(CONF, d)).filter(f => f.endsWith('.ipynb')).sort().map(f => `${d}/${f}`))
  : [];
const allowed = JSON.parse(readFileSync(ALLOW_FILE, 'utf8'));
const allowList: Allowed[] = allowed.differences;
const bareAllowList: Allowed[] = allowed.bareDifferences;

/**
 * The subset that means something on an interpreter with nothing installed (pyenv's
 * python3 here): notebooks needing only the standard library and IPython.display
 * (which pyctx's standard-library layer provides). Compared with the same nbconvert
 * copies; language_info.version is left out (another Python build).
 */
const BARE = [
  'nbclient/Autokill.ipynb', 'nbclient/Clear Output.ipynb', 'nbclient/Disable Stdin.ipynb', 'nbclient/Empty Cell.ipynb',
  'nbclient/Error.ipynb', 'nbclient/Factorials.ipynb', 'nbclient/HelloWorld.ipynb', 'nbclient/Inline Image.ipynb',
  'nbclient/Interrupt.ipynb', 'nbclient/SVG.ipynb', 'nbclient/Skip Exceptions with Cell Tags.ipynb', 'nbclient/Skip Exceptions.ipynb',
  'nbclient/Skip Execution with Cell Tag.ipynb', 'nbclient/Sleep1s.ipynb', 'nbclient/Unicode.ipynb', 'nbclient/UnicodePy3.ipynb',
  'nbconvert/exporters-notebook3.ipynb', 'nbconvert/exporters-rst_output.ipynb', 'nbconvert/notebook3_with_errors.ipynb',
  'nbconvert/notebook4_jpeg.ipynb', 'nbconvert/notebook_tags.ipynb',
];
// The bare pass: python3 on PATH (pyenv's here, another build than Debian's), cells run by
// pyctx's standard-library layer (--ipython off where the CLI has IPython mode).
const bareWhy = spawnSync('python3', ['-c', 'pass'], { stdio: 'ignore' }).status !== 0 ? 'no python3 on PATH' : undefined;
const BARE_FLAGS = USAGE.includes('--ipython') ? ['--ipython', 'off'] : [];
const foundBare = new Map<string, Difference[]>();
let bareMs = 0;
const tmp = makeTmp('pyctx-conformance-');
after(() => tmp.cleanup());

const found = new Map<string, Difference[]>();
const failures = new Map<string, string>();
let wallMs = 0;

/** The notebook's copy in the temporary tree (writable, data files beside it). */
const copyOf = (nb: string) => path.join(tmp.dir, nb);
const nbconvertOut = (nb: string) => path.join(tmp.dir, 'nbconvert-out', nb);

/**
 * nbconvert on a list of notebooks of one folder with the same flags: one process for
 * them all (each notebook still executed once, by its own kernel), so nbconvert's own
 * start-up is paid once per batch. Outputs: OUT/folder/NAME.ipynb (never over the input;
 * the kernel's working directory is still the input's folder).
 */
async function nbconvert(list: string[]): Promise<void> {
  // Jupyter's own start can fail: "Kernel died before replying to kernel_info"
  // (jupyter_client picks the kernel's ports before the kernel binds them, and parallel
  // kernels can race for one), or "Kernel didn't respond in 60 seconds" (seen once in a
  // CI run with nothing else running; likely the same race). That is the reference
  // failing, not pyctx: the notebooks it did not write run again, twice at most.
  for (let attempt = 0, todo = list; todo.length && attempt < 3; attempt++) {
    const err = await nbconvertOnce(todo);
    if (!err || !/Kernel died before replying to kernel_info|Kernel didn't respond in \d+ seconds/.test(err)) return;
    todo = todo.filter(nb => !existsSync(nbconvertOut(nb)));
  }
}

/** One nbconvert process over `list`; resolves with its failure (also recorded), if any. */
function nbconvertOnce(list: string[]): Promise<string | undefined> {
  const sp = SPECIAL[list[0]] ?? {};
  const args = ['--to', 'notebook', '--execute', `--ExecutePreprocessor.timeout=${sp.timeoutS ?? DEFAULT_TIMEOUT_S}`,
    '--ExecutePreprocessor.kernel_name=python3', '--output-dir', path.dirname(nbconvertOut(list[0])), ...list.map(copyOf)];
  if (!sp.strict) args.push('--allow-errors');
  if (sp.timeoutS) args.push('--ExecutePreprocessor.interrupt_on_timeout=True');
  return new Promise(resolve => {
    const child = spawn('jupyter-nbconvert', args, {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' },
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', d => { err = (err + d).slice(-2000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 900000);
    child.on('close', code => {
      clearTimeout(timer);
      const why = code !== 0 ? `nbconvert exit ${code}: ${err.trim().split('\n').slice(-1)[0]}` : undefined;
      if (why) failures.set(`jupyter:${list.join(',')}`, why);
      resolve(why);
    });
  });
}

/** nbconvert batches: special notebooks alone, the others per folder in `perFolder` chunks. */
function nbconvertBatches(perFolder: number): string[][] {
  const batches: string[][] = [];
  for (const folder of ['nbclient', 'nbconvert']) {
    const plain = notebooks.filter(nb => nb.startsWith(`${folder}/`) && !SPECIAL[nb]);
    for (let k = 0; k < perFolder; k++) batches.push(plain.filter((_, i) => i % perFolder === k));
  }
  batches.push(...notebooks.filter(nb => SPECIAL[nb]).map(nb => [nb]));
  return batches.filter(b => b.length > 0);
}

/** At most `n` of the jobs at a time. */
async function limit(n: number, jobs: Array<() => Promise<void>>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < jobs.length) await jobs[next++](); }));
}

/** pyctx over `list` (copies under `root`) with `python`: one process per flag group, -j 2. */
async function runPyctx(root: string, list: string[], python: string, tag: string, flags: string[] = []): Promise<void> {
  const groups = new Map<string, string[]>();
  for (const nb of list) {
    const sp = SPECIAL[nb] ?? {};
    const key = `${sp.timeoutS ?? DEFAULT_TIMEOUT_S}|${sp.strict ? 'strict' : 'allow'}`;
    groups.set(key, [...(groups.get(key) ?? []), nb]);
  }
  for (const [key, group] of groups) {
    const [timeout, mode] = key.split('|');
    const args = ['run', ...group.map(nb => path.join(root, nb)), '-j', '2', '--timeout', timeout, '--python', python, ...flags];
    if (mode === 'allow') args.push('--allow-errors');
    const r = await runCli(args, { timeoutMs: 900000 });
    if (r.code !== 0) failures.set(`${tag}:${key}`, `pyctx exit ${r.code}: ${r.stderr.trim()}`);
  }
}

/** A writable copy of the conformance tree (notebooks and their data files) under `root`. */
function copyTree(root: string): void {
  cpSync(CONF, root, { recursive: true });
  for (const d of ['nbclient', 'nbconvert']) {
    chmodSync(path.join(root, d), 0o755);
    for (const f of readdirSync(path.join(root, d))) chmodSync(path.join(root, d, f), statSync(path.join(root, d, f)).mode | 0o200);
  }
  // nbformat refuses Output.ipynb's kernelspec (no name): complete it on both sides' copy.
  const output = path.join(root, 'nbclient/Output.ipynb');
  const doc = JSON.parse(readFileSync(output, 'utf8'));
  doc.metadata.kernelspec = { display_name: 'Python 3', language: 'python', name: 'python3' };
  writeFileSync(output, JSON.stringify(doc, null, 1));
}

function compareAll(list: string[], root: string, into: Map<string, Difference[]>, opts: { ignoreVersion?: boolean } = {}): void {
  for (const nb of list) {
    const mine = path.join(root, nb).replace(/\.ipynb$/, '.executed.ipynb');
    const theirs = nbconvertOut(nb);
    const diffs: Difference[] = [];
    if (!existsSync(mine) || !existsSync(theirs)) {
      const who = !existsSync(mine) ? 'pyctx' : 'jupyter';
      const why = [...failures].filter(([k]) => k.includes(nb)).map(([, v]) => v).join('; ');
      diffs.push({ notebook: nb, cell: 0, aspect: 'missing', detail: `${who} wrote no notebook ${why}` });
    } else diffs.push(...compareNotebooks(nb, readNb(mine), readNb(theirs), [root, tmp.dir].sort((a, b) => b.length - a.length), opts));
    into.set(nb, diffs);
  }
}

before(async () => {
  if (skipWhy) return;
  copyTree(tmp.dir);
  const bareRoot = path.join(tmp.dir, 'bare');
  if (bareWhy === undefined) copyTree(bareRoot);
  for (const d of ['nbclient', 'nbconvert']) mkdirSync(path.dirname(nbconvertOut(`${d}/x`)), { recursive: true });
  const started = Date.now();
  // nbconvert is the long pole: both pyctx passes run one after the other beside it.
  await Promise.all([
    (async () => {
      await runPyctx(tmp.dir, notebooks, PY, 'pyctx');
      if (bareWhy !== undefined) return;
      const t0 = Date.now();
      await runPyctx(bareRoot, BARE, 'python3', 'bare', BARE_FLAGS);
      bareMs = Date.now() - t0;
    })(),
    limit(2, nbconvertBatches(2).map(list => () => nbconvert(list))),
  ]);
  wallMs = Date.now() - started;
  compareAll(notebooks, tmp.dir, found);
  if (bareWhy === undefined) compareAll(BARE, bareRoot, foundBare, { ignoreVersion: true });
  if (process.env.PYCTX_CONFORMANCE_REPORT) {
    writeFileSync(process.env.PYCTX_CONFORMANCE_REPORT, JSON.stringify({
      differences: [...found.values()].flat(), bareDifferences: [...foundBare.values()].flat(),
    }, null, 1));
  }
}, { timeout: 1800000 });

test('conformance notebooks are there, both runners ran them, every reason is explained', { skip: skipWhy }, t => {
  assert.ok(notebooks.length >= 30, `found ${notebooks.length} notebooks in ${CONF}`);
  t.diagnostic(`${notebooks.length} notebooks through nbconvert and pyctx side by side, plus the bare pass: ${(wallMs / 1000).toFixed(1)} s wall`);
  if (bareWhy === undefined) t.diagnostic(`${BARE.length} notebooks under the bare python3: ${(bareMs / 1000).toFixed(1)} s`);
  for (const [k, v] of failures) t.diagnostic(`${k}: ${v}`);
  const doc = readFileSync(DOC_FILE, 'utf8');
  for (const a of [...allowList, ...bareAllowList]) {
    for (const r of [a.reason].flat()) {
      assert.ok(doc.includes(`### ${r}\n`), `reason "${r}" (${a.notebook} cell ${a.cell}) is explained in docs/jupyter-differences.md`);
    }
    assert.ok(notebooks.includes(a.notebook), `docs/jupyter-differences.json names ${a.notebook}, which is not a conformance notebook`);
  }
});

function checkListed(t: { diagnostic(m: string): void }, diffs: Difference[], allowed: Allowed[], listName: string): void {
  const covers = (d: Difference) => allowed.some(a => a.cell === d.cell && a.aspect === d.aspect);
  for (const a of allowed) {
    if (!diffs.some(d => d.cell === a.cell && d.aspect === a.aspect)) {
      t.diagnostic(`listed but no longer different (remove it from ${listName} in docs/jupyter-differences.json): cell ${a.cell} ${a.aspect}`);
    }
  }
  assert.deepEqual(diffs.filter(d => !covers(d)).map(d => `cell ${d.cell} ${d.aspect}: ${d.detail}`), [],
    `differences not listed in ${listName} of docs/jupyter-differences.json (fix pyctx, or list them with a reason)`);
}

for (const nb of notebooks) {
  test(`conformance: ${nb} under pyctx (/usr/bin/python3) matches Jupyter but for its listed differences`, { skip: skipWhy }, t => {
    checkListed(t, found.get(nb) ?? [], allowList.filter(a => a.notebook === nb), 'differences');
  });
}

for (const nb of BARE) {
  test(`conformance, bare python3 (no IPython): ${nb} matches Jupyter but for its listed differences`, { skip: skipWhy ?? bareWhy }, t => {
    checkListed(t, foundBare.get(nb) ?? [], bareAllowList.filter(a => a.notebook === nb), 'bareDifferences');
  });
}

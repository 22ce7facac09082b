// Pool server benchmark (issue 4): the round trip of executing `1+1` in a notebook
// through the server (JSON-RPC over stdio, the LanguageClient's path) against the
// same cell run directly on a pool context in this process, measured in the same
// run with the same interpreter, alternating blocks so drift hits both alike.
// Prints medians, p99 and the server's overhead (target: < 0.5 ms median). Runs the
// TypeScript source, and the bundle dist/server.js too when it has been built.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Pool } from '../src/pool/index';
import { startServer, type ServerHarness } from '../test/unit/server-harness';

const ROUNDS = 5;
const PER_ROUND = 400;
const WARMUP = 200;

const ms = (ns: number): string => `${(ns / 1e6).toFixed(3)} ms`;
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function timeBlock(n: number, fn: () => Promise<unknown>, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    into.push(Number(process.hrtime.bigint() - t));
  }
}

export async function run(): Promise<void> {
  const variants: { name: string; bundled: boolean }[] = [{ name: 'server (tsx source)', bundled: false }];
  if (existsSync(path.join(__dirname, '..', 'dist', 'server.js'))) variants.push({ name: 'server (dist/server.js)', bundled: true });

  const pool = await Pool.start({ size: 1, warm: 1 });
  const ctx = await pool.bind('new', { owner: 'bench' });
  const servers: { name: string; h: ServerHarness }[] = [];
  try {
    for (const v of variants) {
      const h = await startServer({ bundled: v.bundled, init: { poolSize: 1, warm: 1 } });
      const st = await h.settled;
      if (st.state !== 'ready') throw new Error(`server not ready: ${st.message}`);
      servers.push({ name: v.name, h });
    }
    const direct = () => ctx.execute('1+1');
    const viaServer = (h: ServerHarness) => () => h.api.execute({ notebookUri: 'file:///bench/server.ipynb', code: '1+1' });

    await timeBlock(WARMUP, direct, []);
    for (const s of servers) await timeBlock(WARMUP, viaServer(s.h), []);

    // The JSON-RPC floor: a request the server answers from memory (no Python).
    const floorName = `${servers[0].name}: pyctx/sessions (JSON-RPC floor)`;
    const samples = new Map<string, number[]>([['pool ctx.execute (direct)', []], ...servers.map(s => [s.name, []] as [string, number[]]), [floorName, []]]);
    for (let r = 0; r < ROUNDS; r++) {
      await timeBlock(PER_ROUND, direct, samples.get('pool ctx.execute (direct)')!);
      for (const s of servers) await timeBlock(PER_ROUND, viaServer(s.h), samples.get(s.name)!);
      await timeBlock(PER_ROUND, () => servers[0].h.api.sessions(), samples.get(floorName)!);
    }

    console.log(`python: ${pool.python} (${pool.codec} codec); ${ROUNDS}x${PER_ROUND} executes of 1+1 each`);
    const base = pct(samples.get('pool ctx.execute (direct)')!, 50);
    console.log('| path | median | p99 | overhead vs direct (median) |');
    console.log('|---|---|---|---|');
    for (const [name, xs] of samples) {
      const med = pct(xs, 50);
      const over = name.startsWith('pool') || name === floorName ? '—' : `${ms(med - base)} ${med - base < 0.5e6 ? '(target < 0.5 ms: met)' : '(target < 0.5 ms: MISSED)'}`;
      console.log(`| ${name} | ${ms(med)} | ${ms(pct(xs, 99))} | ${over} |`);
    }

    // Streaming: 100,000 printed lines, direct vs through the server (coalesced notifications).
    const code = 'for i in range(100000):\n    print(i)';
    let t = process.hrtime.bigint();
    let chunks = 0;
    await ctx.execute(code, { onStream: () => { chunks++; } });
    const directNs = Number(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    let notes = 0;
    await servers[0].h.api.execute({ notebookUri: 'file:///bench/server.ipynb', code }, () => { notes++; });
    const serverNs = Number(process.hrtime.bigint() - t);
    console.log(`\n100,000 printed lines: direct ${ms(directNs)} (${chunks} stream events), `
      + `via ${servers[0].name} ${ms(serverNs)} (${notes} pyctx/output notifications)`);
  } finally {
    for (const s of servers) await s.h.close();
    await ctx.unbind().catch(() => undefined);
    await pool.close();
  }
}

if (require.main === module) run().catch(e => { console.error(e); process.exit(1); });

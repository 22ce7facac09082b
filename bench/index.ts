// `npm run bench`: runs every bench/*.bench.ts in turn (each exports `run()`, which
// prints its own table of medians and ratios against a baseline measured in the
// same process). `npm run bench -- pool` runs only files whose name contains "pool".
import { readdirSync } from 'node:fs';
import path from 'node:path';

async function main(): Promise<void> {
  const filter = process.argv.slice(2);
  const files = readdirSync(__dirname).filter(f => f.endsWith('.bench.ts')).sort()
    .filter(f => filter.length === 0 || filter.some(x => f.includes(x)));
  for (const f of files) {
    console.log(`\n## ${f.replace('.bench.ts', '')}`);
    const mod = await import(path.join(__dirname, f));
    await mod.run();
  }
}
main().catch(e => { console.error(e); process.exit(1); });

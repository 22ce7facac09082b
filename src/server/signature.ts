// Signature help for notebook cells, the pure part: where the call around the
// cursor starts (its callee's dotted name), which argument the cursor is in, and
// a signature string "f(a, b=1, *args)" split into its parameters. The live part
// (what the callee is) is the worker's inspect; language.ts wires the two.

export interface CallSite {
  /** Offset (code points) just after the callee's name: where inspect looks. */
  calleeEnd: number;
  callee: string;
  /** Index of the argument the cursor is in (commas at the call's own depth). */
  activeParameter: number;
}

const NAME = /[A-Za-z0-9_.]/;
/** A call's opening bracket is looked for this far back (code points). */
const MAX_LOOKBACK = 4000;

/** The innermost unclosed call before `cursor` (brackets and strings respected, roughly), if any. */
export function callSiteAt(code: string, cursor: number): CallSite | undefined {
  const cp = [...code];
  let depth = 0;
  let commas = 0;
  const stop = Math.max(0, cursor - MAX_LOOKBACK);
  for (let i = Math.min(cursor, cp.length) - 1; i >= stop; i--) {
    const ch = cp[i];
    if (ch === ')' || ch === ']' || ch === '}') depth++;
    else if (ch === '[' || ch === '{') { if (depth === 0) return undefined; depth--; }
    else if (ch === '(') {
      if (depth > 0) { depth--; continue; }
      let j = i;
      while (j > 0 && /\s/.test(cp[j - 1])) j--;
      let k = j;
      while (k > 0 && NAME.test(cp[k - 1])) k--;
      const callee = cp.slice(k, j).join('');
      if (!callee || /^\d/.test(callee) || callee.endsWith('.')) return undefined;
      return { calleeEnd: j, callee, activeParameter: commas };
    } else if (ch === ',' && depth === 0) commas++;
    else if (ch === '"' || ch === "'") {
      // Skip back over a string literal on this line.
      let j = i - 1;
      while (j >= 0 && cp[j] !== ch && cp[j] !== '\n') j--;
      if (j < 0 || cp[j] === '\n') return undefined;
      i = j;
    }
  }
  return undefined;
}

/** "f(a, b=(1, 2), *args) -> int" → ["a", "b=(1, 2)", "*args"] (top-level commas only). */
export function signatureParameters(signature: string): string[] {
  const open = signature.indexOf('(');
  if (open < 0) return [];
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of signature.slice(open + 1)) {
    if (depth === 0 && ch === ')') break;
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    if (ch === ',' && depth === 0) { out.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out.filter(p => p !== '/');
}

/** The parameter the cursor's argument maps to: positional index, or past a `*args` it stays there. */
export function activeIndex(params: string[], argument: number): number {
  const star = params.findIndex(p => p.startsWith('*') && !p.startsWith('**') && p !== '*');
  if (star >= 0 && argument >= star) return star;
  return Math.min(argument, Math.max(0, params.length - 1));
}

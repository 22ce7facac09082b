// Editing help and live views from the pool server over real stdio JSON-RPC:
// completion items carry kinds (variable, function, class, module, keyword, magic)
// and resolve to signature + docstring; signature help on `(` and `,` names the
// active parameter; memory that grows with no request running is pushed. Runs on
// the bare interpreter (inspect) and, when present, /usr/bin/python3 (jedi).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CompletionItemKind, CompletionRequest, CompletionResolveRequest, DidOpenNotebookDocumentNotification, SignatureHelpRequest,
  type CompletionItem, type CompletionList, type SignatureHelp,
} from 'vscode-languageserver-protocol/node';
import { callSiteAt, signatureParameters, activeIndex } from '../../src/server/signature';
import { startServer, waitFor, type ServerHarness } from './server-harness';

describe('call sites and signatures (pure)', () => {
  test('the innermost open call, its callee and the argument index', () => {
    assert.deepEqual(callSiteAt('f(', 2), { calleeEnd: 1, callee: 'f', activeParameter: 0 });
    assert.deepEqual(callSiteAt('x = os.path.join(a, (1, 2), ', 28), { calleeEnd: 16, callee: 'os.path.join', activeParameter: 2 });
    assert.deepEqual(callSiteAt('g(h(1), "a, b", ', 16)?.activeParameter, 2);
    assert.equal(callSiteAt('x = [1, ', 8), undefined, 'a list is not a call');
    assert.equal(callSiteAt('f(1)', 4), undefined, 'closed call');
    assert.deepEqual(signatureParameters("print(*args, sep=' ', end='\\n', file=None, flush=False)"), ['*args', "sep=' '", "end='\\n'", 'file=None', 'flush=False']);
    assert.deepEqual(signatureParameters('f(a, b=(1, 2), /, *, c)'), ['a', 'b=(1, 2)', '*', 'c']);
    assert.equal(activeIndex(['*args', 'sep'], 3), 0, 'past *args the cursor stays on it');
  });
});

const interpreters = ['python3'];
try { execFileSync('/usr/bin/python3', ['-c', 'import jedi'], { stdio: 'ignore' }); interpreters.push('/usr/bin/python3'); } catch { /* no jedi interpreter */ }

for (const python of interpreters) {
  describe(`editing help on ${python}`, () => {
    let h: ServerHarness;
    let tmp: string;
    const nb = (name: string): string => pathToFileURL(path.join(tmp, name)).toString();
    const cellUri = (u: string, i: number) => `vscode-notebook-cell:${u.slice('file:'.length)}#cell${i}`;
    const open = (u: string, text: string) => h.conn.sendNotification(DidOpenNotebookDocumentNotification.type, {
      notebookDocument: { uri: u, notebookType: 'jupyter-notebook', version: 1, cells: [{ kind: 2, document: cellUri(u, 0) }] },
      cellTextDocuments: [{ uri: cellUri(u, 0), languageId: 'python', version: 1, text }],
    });
    const complete = (u: string, line: number, character: number) => waitFor(async () => {
      const l = await h.conn.sendRequest(CompletionRequest.type, { textDocument: { uri: cellUri(u, 0) }, position: { line, character } }) as CompletionList | null;
      return l && l.items.length ? l : undefined;
    }, 20_000, 100);

    before(async () => {
      tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'pyctx-editing-')));
      h = await startServer({ init: { python, poolSize: 2, warm: 1 } });
      assert.equal((await h.settled).state, 'ready');
    });
    after(async () => {
      await h?.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    test('completion kinds, and resolve to signature and docstring', async () => {
      const u = nb('kinds.ipynb');
      await open(u, 'import os\ndef shout(word, times=2):\n    "Say it louder."\n    return word\nclass Thing: pass\nvalue = 1\n' + 'sh\nTh\nos\nval\nwhil\n%ti');
      await h.api.execute({ notebookUri: u, code: 'import os\ndef shout(word, times=2):\n    "Say it louder."\n    return word\nclass Thing: pass\nvalue = 1' });
      const kindOf = async (line: number, character: number, label: string) => {
        const l = await complete(u, line, character);
        const item = l!.items.find((i: CompletionItem) => i.label === label);
        assert.ok(item, `${label} offered at ${line}:${character}: ${l!.items.map(i => i.label).join(' ')}`);
        return item;
      };
      const fn = await kindOf(6, 2, 'shout');
      assert.equal(fn.kind, CompletionItemKind.Function);
      assert.equal((await kindOf(7, 2, 'Thing')).kind, CompletionItemKind.Class);
      assert.equal((await kindOf(8, 2, 'os')).kind, CompletionItemKind.Module);
      assert.equal((await kindOf(9, 3, 'value')).kind, CompletionItemKind.Variable);
      assert.equal((await kindOf(10, 4, 'while')).kind, CompletionItemKind.Keyword);
      assert.equal((await kindOf(11, 3, '%time')).kind, CompletionItemKind.Operator, 'magics have their own kind');
      const resolved = await h.conn.sendRequest(CompletionResolveRequest.type, fn) as CompletionItem;
      assert.equal(resolved.detail, 'shout(word, times=2)');
      assert.match(JSON.stringify(resolved.documentation), /Say it louder/);
      await h.api.unbind(u);
    });

    test('signature help on ( and , names the active parameter', async () => {
      const u = nb('sig.ipynb');
      await open(u, 'def shout(word, times=2): return word\nshout(\nshout("a", ');
      await h.api.execute({ notebookUri: u, code: 'def shout(word, times=2): return word' });
      const sig = (line: number, character: number) => waitFor(async () => (await h.conn.sendRequest(SignatureHelpRequest.type,
        { textDocument: { uri: cellUri(u, 0) }, position: { line, character } }) as SignatureHelp | null) ?? undefined, 20_000, 100);
      const a = await sig(1, 6);
      assert.equal(a!.signatures[0].label, 'shout(word, times=2)');
      assert.deepEqual(a!.signatures[0].parameters?.map(p => p.label), ['word', 'times=2']);
      assert.equal(a!.activeParameter, 0);
      assert.equal((await sig(2, 11))!.activeParameter, 1, 'after the comma: the second parameter');
      await h.api.unbind(u);
    });

    test('memory that grows while no request runs is pushed', async () => {
      const u = nb('memory.ipynb');
      await h.api.execute({ notebookUri: u, code: 'import threading, time\nheld = []\nthreading.Timer(1.0, lambda: held.append(bytearray(60 * 2**20))).start()' });
      const pid = (await h.api.sessions()).find(s => s.notebookUri === u)!.pid;
      const before = (await h.api.stats()).workers.find(w => w.pid === pid)!.rssBytes;
      const grown = await new Promise<number>(resolve => {
        const d = h.api.onStatsChanged(s => {
          const rss = s.workers.find(w => w.pid === pid)?.rssBytes ?? 0;
          if (rss - before > 50 * 2 ** 20) { d.dispose(); resolve(rss); }
        });
      });
      assert.ok(grown - before > 50 * 2 ** 20);
      await h.api.unbind(u);
    });
  });
}

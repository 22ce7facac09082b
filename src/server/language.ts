// Live language features for notebook cells: completion (with kinds, resolved to
// signature and docstring), signature help on `(` and `,`, and hover, answered from
// the bound worker's namespace (ctx.complete / ctx.inspect run on the worker's
// control thread, so they never queue behind a running cell; a budget bounds the
// wait). A cell's own text is the code and the cursor is its offset in the cell.
// Notebooks that are not bound get nothing: completion never binds a worker.
import {
  CompletionItemKind, MarkupKind,
  type CompletionItem, type CompletionList, type Connection, type Hover, type SignatureHelp, type TextDocumentPositionParams,
} from 'vscode-languageserver';
import { NotebookDocuments, TextDocuments } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { codePointsToUtf16, utf16ToCodePoints } from './cursor';
import type { NotebookSession, NotebookSessions } from './sessions';
import { activeIndex, callSiteAt, signatureParameters } from './signature';

export const LIVE_BUDGET_MS = 200;
/** Resolve (documentation of one item) may take longer: the user is reading the list. */
const RESOLVE_BUDGET_MS = 1000;
const DOC_MAX = 3000;

/** Completion kinds from the worker's words (variable, function, class, module, keyword, magic, property). */
const KINDS: Record<string, CompletionItemKind> = {
  variable: CompletionItemKind.Variable, function: CompletionItemKind.Function, class: CompletionItemKind.Class,
  module: CompletionItemKind.Module, keyword: CompletionItemKind.Keyword, magic: CompletionItemKind.Operator,
  property: CompletionItemKind.Property,
};

/** What completionItem/resolve needs to inspect the item: the cell with the match in place. */
interface ResolveData { notebookUri: string; code: string; cursor: number }
const REPR_MAX = 400;

export interface LanguageDeps {
  sessions: NotebookSessions;
  /** notebookDocument/didClose: the notebook's context is released. */
  onNotebookClosed: (notebookUri: string) => void;
}

/**
 * The first completion in a worker imports jedi (~0.5 s of CPU here), so once a
 * notebook's first cell has run the worker warms its completer in the background.
 * Not at once: that second of CPU would compete with the editor rendering the first
 * result on a small machine; until it is warm, completions answer from the live
 * names (see introspect.complete's budget).
 */
export const WARM_AFTER_MS = 2000;

export function warmLiveFeatures(session: NotebookSession): void {
  if (session.liveWarmed || session.ended) return;
  session.liveWarmed = true;
  setTimeout(() => {
    if (session.ended) return;
    // A short budget: the control thread answers at once while jedi imports and infers in
    // its own thread, so a user's completion does not queue behind the warm-up.
    void session.ctx.complete('', 0, { budgetMs: 50 }).catch(() => undefined);
  }, WARM_AFTER_MS).unref();
}

export function listenNotebooks(connection: Connection, deps: LanguageDeps): NotebookDocuments<TextDocument> {
  const notebooks = new NotebookDocuments(new TextDocuments(TextDocument));
  notebooks.onDidClose(nb => deps.onNotebookClosed(nb.uri));

  // The cell under the request, its text, the cursor in Python's units, and the live session.
  const locate = (p: TextDocumentPositionParams): { doc: TextDocument; code: string; cursor: number; session: NotebookSession } | undefined => {
    const notebook = notebooks.findNotebookDocumentForCell(p.textDocument.uri);
    const cell = notebooks.getNotebookCell(p.textDocument.uri);
    const doc = cell && notebooks.getCellTextDocument(cell);
    const session = notebook && deps.sessions.get(notebook.uri);
    if (!doc || !session || session.ended) return undefined;
    const code = doc.getText();
    return { doc, code, cursor: utf16ToCodePoints(code, doc.offsetAt(p.position)), session };
  };

  connection.onCompletion(async (p): Promise<CompletionList | null> => {
    const at = locate(p);
    if (!at) return null;
    const r = await at.session.ctx.complete(at.code, at.cursor, { budgetMs: LIVE_BUDGET_MS }).catch(() => undefined);
    // Nothing yet while jedi warms up: an empty incomplete list, so the editor asks again as the user types.
    if (!r || r.matches.length === 0) return r?.partial ? { isIncomplete: true, items: [] } : null;
    const range = {
      start: at.doc.positionAt(codePointsToUtf16(at.code, r.cursorStart)),
      end: at.doc.positionAt(codePointsToUtf16(at.code, r.cursorEnd)),
    };
    const before = [...at.code].slice(0, r.cursorStart).join('');
    const after = [...at.code].slice(r.cursorEnd).join('');
    const items = r.matches.map((m, i): CompletionItem => {
      // Matches may be dotted ("x.keys"): show the last part, filter on the whole.
      const label = m.slice(m.lastIndexOf('.', m.length - 2) + 1);
      const kind = r.kinds?.[i];
      const data: ResolveData = { notebookUri: at.session.notebookUri, code: before + m + after, cursor: [...before].length + [...m].length };
      return {
        label, filterText: m, sortText: String(i).padStart(5, '0'),
        kind: (kind ? KINDS[kind] : undefined) ?? (label.endsWith('(') ? CompletionItemKind.Method : CompletionItemKind.Variable),
        textEdit: { range, newText: m },
        ...(kind === 'keyword' || kind === 'magic' ? {} : { data }),
      };
    });
    return { isIncomplete: r.partial === true, items };
  });

  // Documentation of one completion item: its signature and docstring (live object, or jedi's inference).
  connection.onCompletionResolve(async (item): Promise<CompletionItem> => {
    const d = item.data as ResolveData | undefined;
    const session = d && deps.sessions.get(d.notebookUri);
    if (!d || !session || session.ended) return item;
    const r = await session.ctx.inspect(d.code, d.cursor, { budgetMs: RESOLVE_BUDGET_MS }).catch(() => undefined);
    if (!r?.found) return item;
    if (r.signature) item.detail = r.signature;
    else if (r.typeName) item.detail = r.pythonModule && r.pythonModule !== 'builtins' ? `${r.pythonModule}.${r.typeName}` : r.typeName;
    const doc = r.docstring ?? r.doc;
    if (doc) item.documentation = { kind: MarkupKind.PlainText, value: truncate(doc, DOC_MAX) };
    return item;
  });

  // Signature help on `(` and `,`: the callee before the innermost open bracket, inspected live.
  connection.onSignatureHelp(async (p): Promise<SignatureHelp | null> => {
    const at = locate(p);
    if (!at) return null;
    const call = callSiteAt(at.code, at.cursor);
    if (!call) return null;
    const r = await at.session.ctx.inspect([...at.code].slice(0, call.calleeEnd).join(''), call.calleeEnd, { budgetMs: LIVE_BUDGET_MS }).catch(() => undefined);
    if (!r?.found || !r.signature) return null;
    const params = signatureParameters(r.signature);
    const doc = r.docstring ?? r.doc;
    return {
      signatures: [{
        label: r.signature,
        parameters: params.map(label => ({ label })),
        ...(doc ? { documentation: { kind: MarkupKind.PlainText, value: truncate(doc, DOC_MAX) } } : {}),
      }],
      activeSignature: 0,
      activeParameter: params.length ? activeIndex(params, call.activeParameter) : 0,
    };
  });

  connection.onHover(async (p): Promise<Hover | null> => {
    const at = locate(p);
    if (!at) return null;
    const r = await at.session.ctx.inspect(at.code, at.cursor, { budgetMs: LIVE_BUDGET_MS }).catch(() => undefined);
    if (!r || !r.found) return null;
    const facts = [r.typeName ? `\`${r.typeName}\`` : undefined,
      r.len !== undefined && r.len !== null ? `len ${r.len}` : undefined,
      r.shape !== undefined && r.shape !== null ? `shape ${formatShape(r.shape)}` : undefined].filter(Boolean);
    const lines = [`**${r.name ?? 'value'}**: ${facts.join(' · ')}`];
    if (r.repr) lines.push('```python\n' + truncate(r.repr, REPR_MAX) + '\n```');
    if (r.doc) lines.push(truncate(r.doc, REPR_MAX));
    return { contents: { kind: MarkupKind.Markdown, value: lines.join('\n\n') } };
  });

  notebooks.listen(connection);
  return notebooks;
}

function formatShape(shape: unknown): string {
  return Array.isArray(shape) ? `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})` : String(shape);
}

function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

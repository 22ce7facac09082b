// Converts what the pool server sends (src/protocol/lsp.ts MimeBundle, error
// triples, stream text) into VS Code notebook output items and outputs. Pure
// mapping: no execution state here (that is src/kernel/cellOutputs.ts).
//
// Output metadata has the shape VS Code's ipynb serializer reads and writes back
// ({ outputType, executionCount, metadata, originalError }, as the Jupyter extension
// sets it), so a saved notebook keeps execute_result with its execution_count, the
// Jupyter metadata of each output, and the exact traceback list of errors.
//
// On the wire binary images are base64 strings (JSON-RPC carries no bytes), as in
// Jupyter's own messages; here they become the raw bytes the renderers expect.
import * as vscode from 'vscode';
import type { MimeBundle } from '../protocol/lsp';
import { linkCellFrames } from './tracebackLinks';

const BINARY_MIMES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'application/pdf']);
const isJsonMime = (mime: string) => mime === 'application/json' || mime.endsWith('+json');

/** Bytes of a binary mime value: base64 text, or already bytes (Uint8Array / number[] / {type:'Buffer',data}). */
function binaryValue(value: unknown): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value.replace(/\s+/g, ''), 'base64');
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return Uint8Array.from(value as number[]);
  const data = (value as { data?: unknown } | null)?.data;
  if (Array.isArray(data)) return Uint8Array.from(data as number[]);
  return new Uint8Array();
}

/** Text of a text mime value; nbformat allows a list of lines. */
function textValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every(v => typeof v === 'string')) return value.join('');
  return JSON.stringify(value, null, 2);
}

/** One output item per mime type of a bundle (VS Code picks which one to render). */
export function bundleItems(data: MimeBundle): vscode.NotebookCellOutputItem[] {
  const items: vscode.NotebookCellOutputItem[] = [];
  for (const [mime, value] of Object.entries(data)) {
    if (value === undefined || value === null) continue;
    if (BINARY_MIMES.has(mime)) items.push(new vscode.NotebookCellOutputItem(binaryValue(value), mime));
    else if (isJsonMime(mime)) items.push(vscode.NotebookCellOutputItem.json(value, mime));
    else items.push(vscode.NotebookCellOutputItem.text(textValue(value), mime));
  }
  return items;
}

export function streamItem(name: 'stdout' | 'stderr', text: string): vscode.NotebookCellOutputItem {
  return name === 'stdout' ? vscode.NotebookCellOutputItem.stdout(text) : vscode.NotebookCellOutputItem.stderr(text);
}

/** A display_data output, or an execute_result when `executionCount` is given. */
export function displayOutput(data: MimeBundle, jupyterMetadata: Record<string, unknown> = {}, executionCount?: number): vscode.NotebookCellOutput {
  const metadata = executionCount === undefined
    ? { outputType: 'display_data', metadata: jupyterMetadata }
    : { outputType: 'execute_result', executionCount, metadata: jupyterMetadata };
  return new vscode.NotebookCellOutput(bundleItems(data), metadata);
}

/** An error output; the traceback list is kept as is for the saved .ipynb. */
export function errorOutput(ename: string, evalue: string, traceback: string[]): vscode.NotebookCellOutput {
  return new vscode.NotebookCellOutput([errorItem(ename, evalue, traceback)],
    { outputType: 'error', originalError: { output_type: 'error', ename, evalue, traceback } });
}

/** A Python exception as VS Code's error item; the traceback goes in the stack, as the Jupyter extension does. */
export function errorItem(ename: string, evalue: string, traceback: string[]): vscode.NotebookCellOutputItem {
  const err = new Error(evalue);
  err.name = ename;
  // Frames in cells read `Cell In[N], line M`: the renderer makes them links to the cell and line.
  err.stack = traceback.length ? traceback.map(linkCellFrames).join('\n') : `${ename}: ${evalue}`;
  return vscode.NotebookCellOutputItem.error(err);
}

/** The mime of a stream item, or undefined for anything else. */
export function streamNameOf(item: { mime: string }): 'stdout' | 'stderr' | undefined {
  if (item.mime === STDOUT_MIME) return 'stdout';
  if (item.mime === STDERR_MIME) return 'stderr';
  return undefined;
}
export const STDOUT_MIME = 'application/vnd.code.notebook.stdout';
export const STDERR_MIME = 'application/vnd.code.notebook.stderr';
export const ERROR_MIME = 'application/vnd.code.notebook.error';

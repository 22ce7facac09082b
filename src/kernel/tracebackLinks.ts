// Traceback frames that point into a cell become links. VS Code's error renderer
// turns IPython 8's frame header `Cell In[N], line M` into a link that reveals the
// cell whose execution order is N at line M (`vscode-notebook-cell:?execution_count=N&line=M`);
// the built-in worker names cell code `<cell-N>` (N = execution count), so its
// frames are rewritten to that header for display. The saved .ipynb keeps the
// original traceback. Pure text (no vscode import): unit-tested in plain Node.

const CELL_FRAME = /^([ \t]*)File "<cell-(\d+)(?:\.\d+)?>", line (\d+)(.*)$/gm;

/** A traceback entry with `File "<cell-N>", line M, in f` shown as `Cell In[N], line M, in f`. */
export function linkCellFrames(entry: string): string {
  return entry.replace(CELL_FRAME, (_m, indent: string, count: string, line: string, rest: string) =>
    `${indent}Cell In[${count}], line ${line}${rest}`);
}

// Names the user released from the Ref Explorer, per notebook, with the time: a
// later NameError on one of them gets a note saying so (the error alone reads
// like a bug). Forgotten when the notebook's context ends (then every name is gone
// for another reason).

export class ReleasedNames {
  private readonly byNotebook = new Map<string, Map<string, number>>();

  record(notebookUri: string, names: readonly string[], at = Date.now()): void {
    let m = this.byNotebook.get(notebookUri);
    if (!m) this.byNotebook.set(notebookUri, m = new Map());
    for (const n of names) m.set(n, at);
  }

  /** When `name` was released in this notebook, if it was. */
  releasedAt(notebookUri: string, name: string): number | undefined {
    return this.byNotebook.get(notebookUri)?.get(name);
  }

  forget(notebookUri: string): void { this.byNotebook.delete(notebookUri); }

  /** The note for a NameError (`evalue` as Python gives it), if its name was released here. */
  noteFor(notebookUri: string, ename: string, evalue: string, now = Date.now()): string | undefined {
    if (ename !== 'NameError') return undefined;
    const name = /name '([^']+)' is not defined/.exec(evalue)?.[1];
    const at = name && this.releasedAt(notebookUri, name);
    if (!name || !at) return undefined;
    return `Note: ${name} was released from the Ref Explorer at ${new Date(at).toLocaleTimeString()} (${ago(now - at)}).\n`;
  }
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min ago` : `${Math.round(m / 60)} h ago`;
}

/** One registry per window (the kernel reads it, the Ref Explorer's actions write it). */
export const releasedNames = new ReleasedNames();

// Pure formatting for the Ref Explorer and the status bar: human sizes, relative
// times, notebook labels, session state icons. No `vscode` import, so the rules are
// unit-tested in plain Node (test/unit/views-format.test.ts).

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 0 B, 999 B, 1.5 KB, 12 MB, 3.2 GB (binary steps of 1024, one decimal under 10). */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
  if (u === 0) return `${Math.round(v)} B`;
  const shown = v < 10 ? v.toFixed(1).replace(/\.0$/, '') : String(Math.round(v));
  return `${shown} ${UNITS[u]}`;
}

/** Time since `thenMs`: `now`, `42s`, `5m`, `3h`, `2d` (short, for tree descriptions). */
export function age(thenMs: number, nowMs: number = Date.now()): string {
  const s = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (s < 5) return 'now';
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/**
 * What a session is called in the tree: a notebook's file name (decoded), or the
 * owner string itself for library / CLI contexts whose key is not a URI with a path.
 */
export function sessionLabel(notebookUri: string): string {
  const m = /^[a-z][a-z0-9+.-]*:(?:\/\/[^/]*)?([^?#]+)/i.exec(notebookUri);
  if (!m) return notebookUri;
  const last = m[1].split('/').filter(Boolean).pop();
  if (!last) return notebookUri;
  try { return decodeURIComponent(last); } catch { return last; }
}

/** Codicon id for a session state (idle / running / crashed; unknown states get a dot). */
export function sessionStateIcon(state: string): string {
  switch (state) {
    case 'running': return 'sync~spin';
    case 'crashed': return 'error';
    case 'idle': return 'circle-large-outline';
    default: return 'circle-small';
  }
}

/** One line of a repr for a tooltip: long reprs are cut with an ellipsis. */
export function shortRepr(repr: string, max = 400): string {
  return repr.length <= max ? repr : `${repr.slice(0, max - 1)}…`;
}

// How a worker process is started: as a local child (`python -c bootstrap`), or
// through a launcher — an argv prefix such as `srun --unbuffered -N1 -n1`,
// `ssh host` or `kubectl exec -i pod --` — that forwards stdio to a process on
// another node. Owns the argv (never a shell on our side), the environment a
// remote worker needs (launchers do not all forward ours), the quoting that
// launchers running a remote shell (ssh) need, and the shell-like splitting of
// a `--launcher "…"` string. What changes once a worker is remote (in-band
// control, heartbeat, no /proc) is in worker.ts and python/pyctx_worker/inband.py.
import path from 'node:path';
import { PyCtxError } from './errors';

/**
 * Split a command line as a POSIX shell would split words, without running one:
 * whitespace separates, '…' is literal, "…" allows \" \\ \$ \`, a backslash
 * escapes the next character. No expansion of $, globs or ~.
 */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new PyCtxError('invalid_argument', `unterminated ' in launcher: ${line}`);
      cur += line.slice(i + 1, end); inWord = true; i = end + 1;
    } else if (c === '"') {
      i++; inWord = true;
      for (;;) {
        if (i >= line.length) throw new PyCtxError('invalid_argument', `unterminated " in launcher: ${line}`);
        const d = line[i];
        if (d === '"') { i++; break; }
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) { cur += line[i + 1]; i += 2; continue; }
        cur += d; i++;
      }
    } else if (c === '\\') {
      if (i + 1 < line.length && line[i + 1] !== '\n') cur += line[i + 1];
      inWord = true; i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) { out.push(cur); cur = ''; inWord = false; }
      i++;
    } else {
      cur += c; inWord = true; i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** A launcher as given by a library user or a setting: a non-empty array of strings, or none. */
export function checkLauncher(launcher: unknown): string[] | undefined {
  if (launcher === undefined || launcher === null) return undefined;
  if (!Array.isArray(launcher) || !launcher.every(a => typeof a === 'string')) {
    throw new PyCtxError('invalid_argument', 'launcher must be an array of strings (an argv prefix such as ["srun", "--unbuffered", "-N1", "-n1"])');
  }
  return launcher.length && launcher[0] ? [...launcher] : undefined;
}

/**
 * ssh joins its command words with spaces and hands them to the remote user's
 * shell; srun and `kubectl exec` pass argv as it is. Only the former needs quoting.
 */
export function runsRemoteShell(launcher: readonly string[]): boolean {
  return path.basename(launcher[0]) === 'ssh';
}

/** POSIX single-quoting: safe for any shell word. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The short name used in messages: `srun`, `ssh`. */
export function launcherName(launcher: readonly string[]): string {
  return path.basename(launcher[0]);
}

/**
 * argv of a worker-side command. Locally: the command itself. Through a launcher:
 * `[...launcher, env, K=V…, command…]`, since ssh and kubectl forward none of our
 * environment (srun forwards it all; the explicit copy is harmless there).
 */
export function launchArgv(launcher: readonly string[] | undefined, command: string[],
  env: Record<string, string | undefined> = {}): { file: string; args: string[] } {
  if (!launcher) return { file: command[0], args: command.slice(1) };
  const assigns = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  let tail = assigns.length ? ['env', ...assigns, ...command] : command;
  if (runsRemoteShell(launcher)) tail = tail.map(shellQuote);
  return { file: launcher[0], args: [...launcher.slice(1), ...tail] };
}

// Shared by the cluster suites (test/cluster/*.test.ts, run by scripts/test-cluster.sh
// with a single-node Slurm up and SLURM_CONF set): the srun launcher, squeue reads,
// and an sshd of our own on 127.0.0.1 (own port, host key and client key, made here;
// the system's sshd config is never touched).
import { after } from 'node:test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SRUN = ['srun', '--unbuffered', '-N1', '-n1'];

/** Job ids in squeue (all users: the test cluster is ours). */
export function squeueIds(): string[] {
  return execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8' }).split('\n').map(s => s.trim()).filter(Boolean);
}

export async function until<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise(r => setTimeout(r, 200));
  }
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Start `sshd -D` on 127.0.0.1 with keys made now; returns the ssh launcher argv
 * (`ssh -F <config> pyctx-test`). Stopped when the test file ends.
 */
export async function startSshd(): Promise<{ launcher: string[]; proc: ChildProcess }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pyctx-sshd-'));
  chmodSync(dir, 0o700);
  const keygen = (file: string): void => { execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]); };
  keygen(path.join(dir, 'host_key'));
  keygen(path.join(dir, 'client_key'));
  writeFileSync(path.join(dir, 'authorized_keys'), execFileSync('cat', [path.join(dir, 'client_key.pub')]));
  const port = await freePort();
  writeFileSync(path.join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${dir}/host_key`,
    `AuthorizedKeysFile ${dir}/authorized_keys`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes', 'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no',
    `PidFile ${dir}/sshd.pid`, 'LogLevel ERROR', '',
  ].join('\n'));
  writeFileSync(path.join(dir, 'ssh_config'), [
    'Host pyctx-test', '  HostName 127.0.0.1', `  Port ${port}`, `  User ${os.userInfo().username}`,
    `  IdentityFile ${dir}/client_key`, '  IdentitiesOnly yes', '  BatchMode yes',
    '  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null', '  LogLevel ERROR', '',
  ].join('\n'));
  execFileSync('mkdir', ['-p', '/run/sshd']); // privilege separation directory
  const sshd = execFileSync('sh', ['-c', 'command -v sshd || echo /usr/sbin/sshd'], { encoding: 'utf8' }).trim();
  const proc = spawn(sshd, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', d => { err += String(d); });
  after(() => { proc.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); });
  await until(() => canConnect(port), ok => ok || proc.exitCode !== null, 10000, 'sshd to listen');
  if (proc.exitCode !== null) throw new Error(`sshd exited ${proc.exitCode}: ${err}`);
  return { launcher: ['ssh', '-F', path.join(dir, 'ssh_config'), 'pyctx-test'], proc };
}

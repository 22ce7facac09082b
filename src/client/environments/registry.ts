// The window's list of Python environments (discover.ts + the Python extension),
// and which one is the default: the interpreter the pool server's default pool
// runs (pyctx.python, else the Python extension's active one, else python3 on
// PATH). Refreshed when workspace folders change, when the Python extension's
// list changes, and on the "pyctx: Refresh Python Environments" command
// (pyctx.refreshEnvironments). Fires onDidChange after every refresh.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { discoverEnvironments, type PythonEnvironment } from './discover';
import { pythonExtensionCandidates, watchPythonExtension } from './pythonExtension';

export const REFRESH_COMMAND = 'pyctx.refreshEnvironments';

export class EnvironmentRegistry implements vscode.Disposable {
  private envs: PythonEnvironment[] = [];
  private defaultEnvId: string | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private readonly changed = new vscode.EventEmitter<readonly PythonEnvironment[]>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  readonly onDidChange = this.changed.event;

  /** `defaultPython`: what the default pool runs (undefined: python3, then python on PATH). */
  constructor(private readonly defaultPython: () => string | undefined) {
    this.disposables.push(
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.refresh()),
      vscode.commands.registerCommand(REFRESH_COMMAND, async () => { await this.refresh(); return this.list(); }),
    );
    void watchPythonExtension(() => void this.refresh()).then(d => this.disposables.push(d));
  }

  list(): readonly PythonEnvironment[] { return this.envs; }
  get defaultId(): string | undefined { return this.defaultEnvId; }
  byId(id: string): PythonEnvironment | undefined { return this.envs.find(e => e.id === id); }
  /** The environment that runs as `python` (its path as recorded in a notebook). */
  byPython(python: string): PythonEnvironment | undefined { return this.envs.find(e => e.python === python); }

  /** Discovers again; concurrent calls share one run, and a call during a run runs once more after it. */
  refresh(): Promise<void> {
    if (this.refreshing) { this.again = true; return this.refreshing; }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          const extra = await pythonExtensionCandidates();
          const { environments, defaultId } = await discoverEnvironments({
            home: os.homedir(),
            pathEnv: process.env.PATH ?? '',
            workspaceFolders: (vscode.workspace.workspaceFolders ?? []).filter(f => f.uri.scheme === 'file').map(f => f.uri.fsPath),
            configured: vscode.workspace.getConfiguration('pyctx').get<string>('python')?.trim() || undefined,
            pyenvRoot: process.env.PYENV_ROOT || undefined,
            extra,
          }, this.defaultPython());
          this.envs = environments;
          this.defaultEnvId = defaultId;
        } while (this.again);
      } finally {
        this.refreshing = undefined;
      }
      this.changed.fire(this.envs);
    })();
    return this.refreshing;
  }

  dispose(): void { for (const d of this.disposables.splice(0)) d.dispose(); }
}

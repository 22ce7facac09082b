// Python environments a notebook can run in: discovery (discover.ts, no vscode),
// the Python extension's list (pythonExtension.ts) and the window's registry.
export { discoverEnvironments, environmentId, findCandidates, probe } from './discover';
export type { Candidate, DiscoveryInput, EnvironmentKind, PythonEnvironment } from './discover';
export { EnvironmentRegistry, REFRESH_COMMAND } from './registry';

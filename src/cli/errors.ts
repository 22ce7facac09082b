// Errors the CLI reports to the user: a stable code, a one-line message and the exit
// status it maps to. main.ts prints `pyctx: <message>` and exits; nothing else in
// src/cli/ prints errors or calls process.exit.

/** Exit statuses (documented in docs/cli.md). */
export const Exit = {
  ok: 0,
  cellError: 1,     // a cell raised, timed out, or killed its worker
  usage: 2,         // bad arguments or bad input file
  environment: 3,   // no usable Python, pool could not start
  interrupted: 130, // Ctrl-C (128 + SIGINT)
} as const;

const EXIT_BY_CODE: Record<string, number> = {
  usage: Exit.usage,
  file_not_found: Exit.usage,
  file_unreadable: Exit.usage,
  not_json: Exit.usage,
  not_a_notebook: Exit.usage,
  unsupported_nbformat: Exit.usage,
  invalid_output: Exit.cellError,
  write_failed: Exit.cellError,
  python_not_found: Exit.environment,
  pool_failed: Exit.environment,
  cell_error: Exit.cellError,
  worker_crashed: Exit.cellError,
  timeout: Exit.cellError,
  interrupted: Exit.interrupted,
};

export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode?: number) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode ?? EXIT_BY_CODE[code] ?? Exit.cellError;
  }
}

/** First line of any error's message, for the one-line report. */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find(l => l.trim() !== '') ?? msg).trim();
}

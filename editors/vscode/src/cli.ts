// Runs the lean-lsp-proxy CLI as a child process (argv only, never a shell)
// and sorts its outcome into the few cases the UI words differently.
import { execFile } from 'child_process';

/** What a finished child process left behind; `errno` is set when it never ran. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  errno?: string; // e.g. ENOENT when the executable is missing
  timedOut?: boolean;
}

/** The process-spawning seam: tests pass a fake, the extension the real one. */
export type ExecFn = (file: string, args: string[], timeoutMs: number) => Promise<ExecResult>;

export type CliKind =
  | 'ok'
  | 'not-found' // the executable could not be started
  | 'no-daemon' // the CLI ran but no daemon answers (exit 1)
  | 'unsupported' // this build does not know the command (exit 2, "unknown command")
  | 'timeout'
  | 'failed';

export interface CliOutcome {
  kind: CliKind;
  stdout: string;
  /** A one-line, user-facing explanation when kind !== 'ok'. */
  message: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

const NO_DAEMON = /no (lean-lsp-proxy )?daemon is running|The daemon starts with/;

/** Real spawner: execFile never involves a shell, so arguments are passed verbatim. */
export const nodeExec: ExecFn = (file, args, timeoutMs) =>
  new Promise(resolve => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024, windowsHide: true, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as { code?: string | number; killed?: boolean };
        // execFile reports a missing executable through err.code (a string),
        // a non-zero exit through err.code (a number).
        if (typeof e.code === 'string') return resolve({ code: null, stdout, stderr, errno: e.code });
        resolve({
          code: typeof e.code === 'number' ? e.code : null,
          stdout,
          stderr,
          timedOut: e.killed === true, // execFile kills the child only on timeout
        });
      },
    );
  });

/** The CLI's stderr minus its "lean-lsp-proxy: " prefix, first line only. */
function firstLine(text: string): string {
  const line = text.split('\n').find(l => l.trim() !== '') ?? '';
  return line.replace(/^lean-lsp-proxy:\s*/, '').trim();
}

export function classify(executable: string, args: string[], r: ExecResult): CliOutcome {
  const cmd = `lean-lsp-proxy ${args.join(' ')}`;
  if (r.errno === 'ENOENT' || r.errno === 'EACCES')
    return {
      kind: 'not-found',
      stdout: '',
      message: `Cannot run '${executable}' (${r.errno}). Install lean-lsp-proxy or set "leanLspProxy.path" to its full path.`,
    };
  if (r.errno) return { kind: 'failed', stdout: r.stdout, message: `Cannot run '${executable}': ${r.errno}` };
  if (r.timedOut) return { kind: 'timeout', stdout: r.stdout, message: `'${cmd}' did not answer in time.` };
  if (r.code === 0) return { kind: 'ok', stdout: r.stdout, message: '' };
  // Exit 2 is the CLI's usage error; an unknown command means this build predates the feature.
  if (r.code === 2 && /unknown command/.test(r.stderr))
    return {
      kind: 'unsupported',
      stdout: r.stdout,
      message: `'${cmd}' is not available in this lean-lsp-proxy build yet.`,
    };
  // Exit 1 with the CLI's own words for a missing daemon; other exit-1 errors
  // (the daemon refused the command) are passed on as they are.
  if (r.code === 1 && NO_DAEMON.test(r.stderr + r.stdout))
    return {
      kind: 'no-daemon',
      stdout: r.stdout,
      message: 'No lean-lsp-proxy daemon is running; it starts with the first Lean server behind the proxy.',
    };
  const detail = firstLine(r.stderr) || firstLine(r.stdout) || `exit code ${r.code}`;
  return { kind: 'failed', stdout: r.stdout, message: `'${cmd}' failed: ${detail}` };
}

/** Runs `executable args…` and classifies the result; never throws. */
export async function runCli(
  exec: ExecFn,
  executable: string,
  args: string[],
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<CliOutcome> {
  let r: ExecResult;
  try {
    r = await exec(executable, args, timeoutMs);
  } catch (e) {
    r = { code: null, stdout: '', stderr: String(e), errno: (e as NodeJS.ErrnoException).code ?? 'ERROR' };
  }
  return classify(executable, args, r);
}

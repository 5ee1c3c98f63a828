import { spawn } from 'node:child_process';

/**
 * The shells a `run:` step may name, as the runner starts them (actions/runner
 * src/Runner.Worker/Handlers/ScriptHandlerHelpers.cs, _defaultArguments): the script is written to
 * a file and `{0}` is its path. `sh` has no pipefail: `false | true` succeeds there, not in bash.
 */
const SHELLS: Record<string, { command: string; args: string[]; extension: string }> = {
  bash: { command: 'bash', args: ['--noprofile', '--norc', '-e', '-o', 'pipefail', '{0}'], extension: '.sh' },
  sh: { command: 'sh', args: ['-e', '{0}'], extension: '.sh' },
};

/** A custom shell is `command [args] {0}` (the runner's rule); the named ones come from the table. */
export function shellCommand(shell: string, scriptPath: string): { command: string; args: string[] } {
  const known = SHELLS[shell];
  const words = known ? [known.command, ...known.args] : shell.split(/\s+/);
  if (!known && !words.includes('{0}'))
    throw new Error(
      `shell "${shell}" is not supported by the local runner (bash, sh, or a command with {0})`,
    );
  return { command: words[0]!, args: words.slice(1).map((w) => w.replace('{0}', scriptPath)) };
}

export const scriptExtension = (shell: string) => SHELLS[shell]?.extension ?? '';

/**
 * How long the runner waits after SIGINT before SIGTERM, and after SIGTERM before SIGKILL, when the
 * job is cancelled (actions/runner src/Runner.Sdk/ProcessInvoker.cs: _sigintTimeout 7.5 s,
 * _sigtermTimeout 2.5 s).
 */
export const CANCEL_GRACE = { sigintMs: 7500, sigtermMs: 2500 };

/**
 * Runs one step's process: every line of stdout and stderr to `onLine` as it arrives; when `signal`
 * aborts, SIGINT, then SIGTERM, then SIGKILL, as the runner does on cancellation.
 */
export function runProcess(
  command: string,
  args: string[],
  opts: { env: Record<string, string>; cwd: string; signal?: AbortSignal; onLine: (line: string) => void },
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: opts.env, cwd: opts.cwd });
    let pending = '';
    const feed = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      lines.forEach(opts.onLine);
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    const timers: NodeJS.Timeout[] = [];
    const cancel = () => {
      child.kill('SIGINT');
      timers.push(setTimeout(() => child.kill('SIGTERM'), CANCEL_GRACE.sigintMs));
      timers.push(setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE.sigintMs + CANCEL_GRACE.sigtermMs));
    };
    if (opts.signal?.aborted) cancel();
    else opts.signal?.addEventListener('abort', cancel, { once: true });
    child.on('error', (error) => opts.onLine(`##[error]${error.message}`));
    child.on('close', (code) => {
      timers.forEach(clearTimeout);
      opts.signal?.removeEventListener('abort', cancel);
      if (pending) opts.onLine(pending);
      resolve(code ?? 1);
    });
  });
}

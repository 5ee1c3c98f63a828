import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileCommandFiles, parseFileCommands } from '../../tools/local-runner/files.js';
import { OutputFilter } from '../../tools/local-runner/commands.js';

export const KIT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface BundleRun {
  code: number;
  outputs: Record<string, string>;
  summary: string;
}

/** What the terminal shows of one line a bundle printed: the runner's commands made readable. */
export interface LineSink {
  info(text: string): void;
  error(text: string): void;
  warning(text: string): void;
  group(title: string): void;
}

/**
 * Runs `dist/<name>/index.js` as the runner does (INPUT_* variables, the file-command files) on this
 * machine: the same code the actions run, none of the step's other variables (no INPUT_*, GITHUB_*
 * or ACTIONS_* from this shell). Its workflow commands are shown as a terminal shows them: masked
 * values replaced by ***, errors and warnings marked, stop-commands honoured (OutputFilter).
 */
export async function runBundle(
  name: string,
  inputs: Record<string, string>,
  options: { cwd: string; env?: Record<string, string | undefined>; sink: LineSink; secrets?: string[] },
): Promise<BundleRun> {
  const dir = mkdtempSync(join(tmpdir(), `slipway-cli-${name}-`));
  try {
    const files = createFileCommandFiles(dir);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env))
      if (value !== undefined && !/^(INPUT_|GITHUB_|ACTIONS_|STATE_)/.test(key)) env[key] = value;
    Object.assign(env, { RUNNER_TEMP: dir, GITHUB_WORKSPACE: options.cwd }, files);
    for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
    for (const [key, value] of Object.entries(inputs)) env[`INPUT_${key.toUpperCase()}`] = value;
    const code = await spawnBundle(
      name,
      env,
      options.cwd,
      new OutputFilter(options.secrets ?? []),
      options.sink,
    );
    return {
      code,
      outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnBundle(
  name: string,
  env: Record<string, string>,
  cwd: string,
  filter: OutputFilter,
  sink: LineSink,
) {
  return new Promise<number>((done) => {
    const child = spawn(process.execPath, [join(KIT, 'dist', name, 'index.js')], { cwd, env });
    let pending = '';
    const onData = (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) show(filter, sink, line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      if (pending) show(filter, sink, pending);
      done(code ?? 1);
    });
  });
}

function show(filter: OutputFilter, sink: LineSink, raw: string): void {
  const line = filter.line(raw);
  if (!line) return;
  const command = line.command ? /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line.text.trimStart()) : null;
  if (!command) return sink.info(line.text);
  const [, name, data] = command as unknown as [string, string, string];
  const text = data.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
  if (name === 'error') sink.error(text);
  else if (name === 'warning') sink.warning(text);
  else if (name === 'group') sink.group(text);
  // endgroup, debug, set-output, save-state, stop-commands: nothing a terminal shows.
}

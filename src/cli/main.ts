import { parseArgs } from 'node:util';
import { describeError, UserError } from '../lib/core/errors.js';
import { execRunner } from '../lib/core/exec.js';
import type { BundleRun, LineSink } from './bundle.js';
import { deployCommand, rollbackCommand } from './deploy.js';
import { doctor, readDistro, type Check } from './doctor.js';
import { rehearseCommand } from './rehearse.js';
import { renderMarkdown } from './render.js';

const USAGE = `Usage: slipway <command> [options]

Commands:
  rehearse [--dir .] [--service name] [--config f] [--env name] [--with input=value]
           [--break=image|worker] [--strategy=immediate|gradual]
                                  run the whole pipeline on this project against the local engine,
                                  the Cloudflare emulator and real wrangler: v1, v2, and with
                                  --break a v3 that fails in production and is rolled back
                                  (gradual: v2 and v3 go out in gated steps of 10, 50, 100%)
  doctor [--registry host:port]   check the engine (docker, else podman), its builder, Node,
                                  wrangler and a registry; say how to install what is missing
  deploy [--dir .] [--config f] [--env name] [--image ref] [--message text] [--secrets-file f]
                                  deploy with the deploy action's code against Cloudflare, recording
                                  what it replaced in .slipway/deploys/<worker>.json
  rollback [--dir .] [--worker name | --to version] [--force]
                                  restore what the last deploy replaced, and verify it

deploy and rollback read CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID from the environment.
Environment: NO_COLOR turns colour off (so does output that is not a terminal).`;

/** Colour only on a terminal, and never with NO_COLOR (https://no-color.org). */
export function painter(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv) {
  const on = Boolean(stream.isTTY) && !env.NO_COLOR;
  const paint = (code: string) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { green: paint('32'), red: paint('31'), yellow: paint('33'), bold: paint('1'), dim: paint('2') };
}

/** The report: one line per check, then how to fix each missing one. */
export function renderChecks(checks: Check[], paint: ReturnType<typeof painter>): string {
  const width = Math.max(...checks.map((check) => check.name.length));
  const mark = (check: Check) =>
    check.ok ? paint.green('✓') : check.required ? paint.red('✗') : paint.yellow('!');
  const lines = checks.map((check) => `${mark(check)} ${check.name.padEnd(width)}  ${check.detail}`);
  const fixes = checks.filter((check) => check.fix && !check.ok);
  if (fixes.length)
    lines.push('', paint.bold('To fix:'), ...fixes.map((check) => `  ${check.name}: ${check.fix}`));
  return `${lines.join('\n')}\n`;
}

async function runDoctor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { registry: { type: 'string' } } });
  const checks = await doctor(
    {
      run: (command, commandArgs, options) => execRunner(command, commandArgs, { ...options, silent: true }),
      env: process.env,
      platform: process.platform,
      distro: process.platform === 'linux' ? readDistro() : undefined,
      nodeVersion: process.version,
      cwd: process.cwd(),
      fetch: (url) => fetch(url, { signal: AbortSignal.timeout(5000) }),
    },
    { registry: values.registry },
  );
  process.stdout.write(renderChecks(checks, painter(process.stdout, process.env)));
  return checks.some((check) => check.required && !check.ok) ? 1 : 0;
}

/** The bundle's lines on the terminal: errors and warnings marked, groups as headings. */
function terminalSink(): LineSink {
  const paint = painter(process.stdout, process.env);
  const out = (text: string) => process.stdout.write(`${text}\n`);
  return {
    info: (text) => out(paint.dim(text)),
    error: (text) => out(paint.red(`✗ ${text}`)),
    warning: (text) => out(paint.yellow(`! ${text}`)),
    group: (title) => out(paint.bold(`▸ ${title}`)),
  };
}

/** The job summary the bundle wrote, rendered for the terminal; its exit code. */
function show(run: BundleRun): number {
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  if (run.summary.trim()) process.stdout.write(`\n${renderMarkdown(run.summary, color)}`);
  return run.code;
}

/** `slipway <command>`: the exit code; a problem is one line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'doctor') return await runDoctor(rest);
    if (command === 'rehearse')
      return await rehearseCommand(rest, (text) => process.stdout.write(`${text}\n`));
    if (command === 'deploy') return show(await deployCommand(rest, terminalSink()));
    if (command === 'rollback') return show(await rollbackCommand(rest, terminalSink()));
    if (!command || command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return command ? 0 : 2;
    }
    throw new UserError(`Unknown command "${command}": run slipway --help.`);
  } catch (err) {
    process.stderr.write(`slipway: ${describeError(err)}\n`);
    return 2;
  }
}

import { UserError } from '../core/errors.js';
import { debugLogging, type Deps } from '../core/io.js';
import { lastLine } from '../core/text.js';
import type { BootTestOptions } from './index.js';

export const BOOT_LABEL = 'slipway.boot-test';

/** The container being booted, and what is needed to ask the engine about it. */
export interface Boot {
  /** The options, with network "auto" settled to bridge or host. */
  options: BootTestOptions;
  deps: Deps;
  bin: string;
  name: string;
  /** When the container was started (ms since the epoch, by deps.now). */
  started: number;
  /** Set once the container's log was printed (showLogs), so it is printed once. */
  logsShown?: boolean;
}

/** Seconds since the container was started. */
export function elapsed(boot: Boot): number {
  return (boot.deps.now().getTime() - boot.started) / 1000;
}

/**
 * `docker run` arguments for a production-like boot: no capabilities, no privilege escalation,
 * memory, CPU and PID limits, a read-only root with a tmpfs /tmp and a volume on /data. Env values
 * are not here: only their names (`-e NAME`), the values travel in the client's environment.
 */
export function runArgs(options: BootTestOptions, name: string): string[] {
  const args = ['run', '-d', '--pull', 'never', '--name', name, '--label', `${BOOT_LABEL}=1`];
  args.push(
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--memory',
    options.memory,
    '--pids-limit',
    String(options.pidsLimit),
  );
  if (options.cpus) args.push('--cpus', options.cpus);
  if (options.readOnly)
    args.push('--read-only', '--tmpfs', '/tmp:rw,nosuid,nodev,size=64m', '--mount', 'type=volume,dst=/data');
  if (options.user) args.push('--user', options.user);
  if (options.network === 'host') args.push('--network', 'host');
  else args.push('--network', options.network, '--publish', `127.0.0.1::${options.port}`);
  for (const [name] of options.env) args.push('--env', name);
  args.push(options.image);
  return args;
}

/**
 * Env values are masked in the log, except ones that cannot be secrets and whose masking would
 * garble it (the runner masks every occurrence): booleans, plain numbers, under 4 characters.
 */
export function shouldMask(value: string): boolean {
  return value.length >= 4 && !/^(true|false|yes|no|on|off|\d+(\.\d+)?)$/i.test(value);
}

/** Network "auto": the engine's bridge when it has one (the port published on loopback), else host. */
export async function settleNetwork(bin: string, network: string, deps: Deps): Promise<string> {
  if (network !== 'auto') return network;
  const bridge = await deps.run(bin, ['network', 'inspect', 'bridge'], { silent: true });
  return bridge.code === 0 ? 'bridge' : 'host';
}

/** Fails before anything starts when the image is not in the engine (boot-test never pulls). */
export async function requireImage(bin: string, image: string, deps: Deps): Promise<void> {
  const exists = await deps.run(bin, ['image', 'inspect', '--format', '{{.Id}}', image], { silent: true });
  if (exists.code !== 0)
    throw new UserError(
      `Image ${image} is not in the local engine: build it first (build-image) or pull it.`,
    );
}

/** Starts the container; the health URL on the host, or why it could not be started. */
export async function startContainer(boot: Boot): Promise<{ url: string } | { failure: string }> {
  const { options, deps, bin, name } = boot;
  const created = await deps.run(bin, runArgs(options, name), {
    silent: true,
    env: Object.fromEntries(options.env),
  });
  if (created.code !== 0) return { failure: `Could not start ${options.image}: ${lastLine(created.stderr)}` };
  let hostPort = options.port;
  if (options.network !== 'host') {
    const published = await deps.run(bin, ['port', name, `${options.port}/tcp`], { silent: true });
    hostPort = Number(/:(\d+)\s*$/m.exec(published.stdout)?.[1] ?? NaN);
    if (!hostPort)
      return { failure: `Port ${options.port} of the container was not published: check the "port" input.` };
  }
  return { url: `http://127.0.0.1:${hostPort}${options.healthPath}` };
}

/**
 * The container's last log lines, stdout and stderr together; with debug logging on (RUNNER_DEBUG=1)
 * its whole log (`logs` without --tail: docker's and podman's default is every line).
 */
export async function lastLogs(boot: Boot, count = 20): Promise<string[]> {
  const tail = debugLogging(boot.deps.env) ? [] : ['--tail', String(count)];
  const logs = await boot.deps.run(boot.bin, ['logs', ...tail, boot.name], { silent: true });
  return `${logs.stdout}${logs.stderr}`.trim().split('\n').filter(Boolean);
}

/** Prints the container's log lines in a "Container logs" group, once. */
export async function showLogs(boot: Boot, lines: string[]): Promise<void> {
  const { log } = boot.deps;
  boot.logsShown = true;
  await log.group('Container logs', async () => lines.forEach((line) => log.info(line)));
}

/** The last five log lines, for a one-line failure. */
export function quoteLogs(lines: string[]): string {
  return lines.slice(-5).join(' | ') || '(none)';
}

/**
 * Undefined while the container runs; once it has exited, the failure (its exit code, whether it
 * ran out of memory, its last log lines, which are also printed in a group).
 */
export async function exitedMessage(boot: Boot, url: string): Promise<string | undefined> {
  const state = await boot.deps.run(
    boot.bin,
    ['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}} {{.State.OOMKilled}}', boot.name],
    { silent: true },
  );
  const [running, exitCode, oom] = state.stdout.trim().split(' ');
  if (running === 'true') return undefined;
  const lines = await lastLogs(boot);
  await showLogs(boot, lines);
  return `The container of ${boot.options.image} exited with code ${exitCode}${oom === 'true' ? ' (killed: out of memory)' : ''} after ${elapsed(boot).toFixed(1)} s, before ${url} answered. Last log lines: ${quoteLogs(lines)}`;
}

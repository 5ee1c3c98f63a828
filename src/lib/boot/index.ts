import { randomBytes } from 'node:crypto';
import { detectEngine } from '../engine/engine.js';
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import { extendedHealthProblems } from '../health/schema.js';
import type { Log } from '../core/io.js';

export interface BootTestOptions {
  image: string;
  port: number;
  healthPath: string;
  expectStatus: string[];
  env: Array<[string, string]>;
  memory: string;
  cpus?: string;
  pidsLimit: number;
  readOnly: boolean;
  user?: string;
  /** host: probe 127.0.0.1:<port> on the host's network; otherwise publish the port on loopback. */
  network: string;
  timeoutSeconds: number;
}

export interface BootTestResult {
  bootSeconds: number;
  health: unknown;
  status: string;
  attempts: number;
  url: string;
  summary: string;
}

export const BOOT_LABEL = 'slipway.boot-test';

/**
 * `docker run` arguments for a production-like boot: no capabilities, no privilege escalation,
 * memory, CPU and PID limits, a read-only root with a tmpfs /tmp and a volume on /data. Env values
 * are not here: only their names (`-e NAME`), the values travel in the client's environment.
 */
export function runArgs(o: BootTestOptions, name: string): string[] {
  const args = ['run', '-d', '--pull', 'never', '--name', name, '--label', `${BOOT_LABEL}=1`];
  args.push(
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--memory',
    o.memory,
    '--pids-limit',
    String(o.pidsLimit),
  );
  if (o.cpus) args.push('--cpus', o.cpus);
  if (o.readOnly)
    args.push('--read-only', '--tmpfs', '/tmp:rw,nosuid,nodev,size=64m', '--mount', 'type=volume,dst=/data');
  if (o.user) args.push('--user', o.user);
  if (o.network === 'host') args.push('--network', 'host');
  else args.push('--network', o.network, '--publish', `127.0.0.1::${o.port}`);
  for (const [k] of o.env) args.push('--env', k);
  args.push(o.image);
  return args;
}

/**
 * Env values are masked in the log, except ones that cannot be secrets and whose masking would
 * garble it (the runner masks every occurrence): booleans, plain numbers, under 4 characters.
 */
export function shouldMask(value: string): boolean {
  return value.length >= 4 && !/^(true|false|yes|no|on|off|\d+(\.\d+)?)$/i.test(value);
}

/** Backoff between polls: 100 ms doubling to 1 s. */
export function pollDelay(attempt: number): number {
  return Math.min(100 * 2 ** (attempt - 1), 1000);
}

/** Whether a health answer is accepted, and if not, why (in words for the timeout message). */
export function judge(
  path: string,
  code: number,
  body: unknown,
  expect: string[],
): { accepted: boolean; final?: string; why: string; status: string } {
  if (code < 200 || code >= 300) return { accepted: false, why: `HTTP ${code}`, status: '' };
  const status =
    typeof body === 'object' && body && 'status' in body ? String((body as { status: unknown }).status) : '';
  if (/extended|sandbox-health/.test(path)) {
    const problems = extendedHealthProblems(body);
    if (problems.length)
      return {
        accepted: false,
        final: `the health document does not match the extended-health schema: ${problems.join('; ')}`,
        why: 'invalid document',
        status,
      };
  }
  if (!status || expect.includes(status) || (status === 'ok' && !/extended/.test(path)))
    return { accepted: true, why: `status ${status || code}`, status: status || String(code) };
  return { accepted: false, why: `status ${status} (accepted: ${expect.join(', ')})`, status };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the image as production will and waits for its health. A container that exits fails at
 * once with its exit code and last log lines; a timeout says what was tried and what came back.
 * The container (and its anonymous /data volume) is always removed.
 */
export async function bootTest(
  o: BootTestOptions,
  deps: {
    run: Runner;
    log: Log;
    env: Record<string, string | undefined>;
    onContainer?: (name: string | undefined) => void;
  },
): Promise<BootTestResult> {
  const engine = await detectEngine(deps.run, deps.env);
  const bin = engine.bin;
  for (const [, v] of o.env) if (shouldMask(v)) deps.log.secret(v);
  const exists = await deps.run(bin, ['image', 'inspect', '--format', '{{.Id}}', o.image], { silent: true });
  if (exists.code !== 0)
    throw new UserError(
      `Image ${o.image} is not in the local engine: build it first (build-image) or pull it.`,
    );

  const name = `slipway-boot-${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const lastLogs = async (n = 20) => {
    const l = await deps.run(bin, ['logs', '--tail', String(n), name], { silent: true });
    return `${l.stdout}${l.stderr}`.trim().split('\n').filter(Boolean);
  };
  deps.onContainer?.(name);
  try {
    const created = await deps.run(bin, runArgs(o, name), { silent: true, env: Object.fromEntries(o.env) });
    if (created.code !== 0)
      throw new UserError(`Could not start ${o.image}: ${created.stderr.trim().split('\n').pop()}`);
    let hostPort = o.port;
    if (o.network !== 'host') {
      const p = await deps.run(bin, ['port', name, `${o.port}/tcp`], { silent: true });
      hostPort = Number(/:(\d+)\s*$/m.exec(p.stdout)?.[1] ?? NaN);
      if (!hostPort)
        throw new UserError(`Port ${o.port} of the container was not published: check the "port" input.`);
    }
    const url = `http://127.0.0.1:${hostPort}${o.healthPath}`;
    deps.log.info(
      `Booting ${o.image} as ${name} (${o.readOnly ? 'read-only, ' : ''}memory ${o.memory}, pids ${o.pidsLimit}, no capabilities); polling ${url} for ${o.expectStatus.join(' or ')}.`,
    );
    const deadline = started + o.timeoutSeconds * 1000;
    let last = 'no answer yet';
    for (let attempt = 1; ; attempt++) {
      const state = await deps.run(
        bin,
        ['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}} {{.State.OOMKilled}}', name],
        { silent: true },
      );
      const [running, exitCode, oom] = state.stdout.trim().split(' ');
      if (running !== 'true') {
        const lines = await lastLogs();
        await deps.log.group('Container logs', async () => lines.forEach((l) => deps.log.info(l)));
        throw new UserError(
          `The container of ${o.image} exited with code ${exitCode}${oom === 'true' ? ' (killed: out of memory)' : ''} after ${elapsed().toFixed(1)} s, before ${url} answered. Last log lines: ${lines.slice(-5).join(' | ') || '(none)'}`,
        );
      }
      try {
        const res = await fetch(url, {
          signal: AbortSignal.timeout(Math.max(200, Math.min(2000, deadline - performance.now()))),
          redirect: 'manual',
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON: judged by its status code */
        }
        const j = judge(o.healthPath, res.status, body, o.expectStatus);
        if (j.final) throw new UserError(`${o.image} answered ${url}, but ${j.final}.`);
        if (j.accepted) {
          const bootSeconds = Math.round(elapsed() * 100) / 100;
          deps.log.info(
            `${o.image} answered ${j.why} after ${bootSeconds} s (${attempt} attempt${attempt === 1 ? '' : 's'}).`,
          );
          return {
            bootSeconds,
            health: body,
            status: j.status,
            attempts: attempt,
            url,
            summary: summary(o, url, bootSeconds, attempt, j.status, body),
          };
        }
        last = j.why;
      } catch (err) {
        if (err instanceof UserError) throw err;
        const e = err as Error & { cause?: { code?: string } };
        last =
          e.cause?.code ?? (e.name === 'TimeoutError' ? 'no answer within the attempt timeout' : e.message);
      }
      if (performance.now() >= deadline) {
        const lines = await lastLogs();
        throw new UserError(
          `No accepted answer from ${url} within ${o.timeoutSeconds} s (${attempt} attempts; last: ${last}): check that the image listens on port ${o.port} and serves ${o.healthPath}. Last log lines: ${lines.slice(-5).join(' | ') || '(none)'}`,
        );
      }
      await sleep(Math.min(pollDelay(attempt), Math.max(0, deadline - performance.now())));
    }
  } finally {
    await deps.run(bin, ['rm', '-f', '-v', name], { silent: true });
    deps.onContainer?.(undefined);
  }
}

function summary(
  o: BootTestOptions,
  url: string,
  seconds: number,
  attempts: number,
  status: string,
  body: unknown,
): string {
  const doc = body as {
    version?: { id?: string };
    tools?: { status?: Record<string, string> };
    capabilities?: Record<string, boolean>;
  };
  const out = [
    `### boot-test: \`${o.image}\` ✅ ${status} in ${seconds} s`,
    '',
    '| | |',
    '| --- | --- |',
    `| Health | \`${url.replace(/^http:\/\/127\.0\.0\.1:\d+/, '')}\` answered **${status}** after ${attempts} attempt${attempts === 1 ? '' : 's'} |`,
    `| Limits | memory ${o.memory}, pids ${o.pidsLimit}${o.cpus ? `, cpus ${o.cpus}` : ''}, ${o.readOnly ? 'read-only root, ' : ''}all capabilities dropped, no-new-privileges |`,
  ];
  if (doc?.version?.id) out.push(`| Version | \`${doc.version.id}\` |`);
  const tools = Object.entries(doc?.tools?.status ?? {});
  if (tools.length) out.push(`| Tools | ${tools.map(([k, v]) => `${k}: ${v}`).join(', ')} |`);
  const caps = Object.entries(doc?.capabilities ?? {});
  if (caps.length)
    out.push(`| Capabilities | ${caps.map(([k, v]) => `${v ? '✅' : '⬜'} ${k}`).join(' ')} |`);
  return `${out.join('\n')}\n`;
}

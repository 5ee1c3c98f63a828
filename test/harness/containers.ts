import { spawnSync } from 'node:child_process';
import { DOCKER, docker } from './docker.js';

/** Every container and volume the tests make carries this label, so cleanup finds them all. */
export const LABEL = 'slipway.test=1';

export interface RunSpec {
  name: string;
  image: string;
  port: number;
  env?: Record<string, string>;
  /** "-v" values: named volumes or bind mounts. */
  volumes?: string[];
  args?: string[];
}

/** Starts a container on the host network (only loopback may be a network target here). */
export function startContainer(spec: RunSpec): string {
  const args = [
    'run',
    '-d',
    '--pull',
    'never',
    '--network',
    'host',
    '--name',
    spec.name,
    '--label',
    LABEL,
    '-e',
    `PORT=${spec.port}`,
  ];
  for (const [k, v] of Object.entries(spec.env ?? {})) args.push('-e', `${k}=${v}`);
  for (const v of spec.volumes ?? []) args.push('-v', v);
  args.push(...(spec.args ?? []), spec.image);
  return docker(args);
}

export function logs(name: string): string {
  const r = spawnSync(DOCKER, ['logs', name], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

export function removeContainers(...names: string[]): void {
  if (names.length) docker(['rm', '-f', ...names], { allowFail: true });
}

/** Removes every labelled container and volume: the suite leaves nothing behind, on failure too. */
export function cleanupLabelled(): void {
  const ids = docker(['ps', '-aq', '--filter', `label=${LABEL}`], { allowFail: true })
    .split('\n')
    .filter(Boolean);
  if (ids.length) docker(['rm', '-f', ...ids], { allowFail: true });
  const vols = docker(['volume', 'ls', '-q', '--filter', `label=${LABEL}`], { allowFail: true })
    .split('\n')
    .filter(Boolean);
  if (vols.length) docker(['volume', 'rm', '-f', ...vols], { allowFail: true });
}

export function createVolume(name: string): string {
  docker(['volume', 'create', '--label', LABEL, name]);
  return name;
}

export async function getJson(port: number, path: string): Promise<{ code: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  try {
    return { code: res.status, body: JSON.parse(text) };
  } catch {
    return { code: res.status, body: text };
  }
}

/**
 * Polls until `done` accepts an answer, or fails after `timeoutMs` saying what came back last.
 * Every answer seen is passed to `seen` (to check what a document went through on the way).
 */
export async function waitFor<T>(
  what: string,
  poll: () => Promise<T>,
  done: (v: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; seen?: (v: T) => void } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await poll();
      opts.seen?.(v);
      last = v;
      if (done(v)) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

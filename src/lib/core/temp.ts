import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from './io.js';

/** Where temporary files go: the runner's RUNNER_TEMP (emptied after each job), else the OS temp dir. */
export function tempRoot(env: Env): string {
  return env.RUNNER_TEMP || tmpdir();
}

/** A fresh private directory under tempRoot, named `<prefix>XXXXXX`. The caller removes it. */
export function makeTempDir(env: Env, prefix: string): string {
  return mkdtempSync(join(tempRoot(env), prefix));
}

/** Runs `fn` with a fresh temporary directory that is removed afterwards, whatever happens. */
export async function withTempDir<T>(env: Env, prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeTempDir(env, prefix);
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

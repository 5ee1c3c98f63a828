import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

export type ToolStatus = 'pending' | 'installing' | 'installed' | 'failed' | 'blocked';

export interface ToolState {
  status: ToolStatus;
  attempts: number;
  error?: string;
  updatedAt: string;
}

export const STATE_FORMAT = 'loa-tool-loader/1';

/** What the loader has done, on the /data volume: read by the gateway for /health/extended. */
export interface LoaderState {
  format: typeof STATE_FORMAT;
  tools: Record<string, ToolState>;
  /** Every tool has reached installed, failed or blocked. */
  complete: boolean;
  /** Set when the manifest could not be used (a cycle, an unknown dependency). */
  manifestError?: string;
  updatedAt: string;
}

/**
 * Reads the state file. A missing file is undefined; a corrupt or foreign one is set aside (renamed
 * to <file>.corrupt-<time>) with a warning, and is undefined too, so state is rebuilt from checks.
 */
export function readState(path: string, warn: (m: string) => void): LoaderState | undefined {
  if (!existsSync(path)) return undefined;
  let why: string;
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<LoaderState>;
    if (s.format === STATE_FORMAT && s.tools && typeof s.tools === 'object') return s as LoaderState;
    why = `it is not a ${STATE_FORMAT} state file`;
  } catch (err) {
    why = `it is not valid JSON (${(err as Error).message})`;
  }
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    renameSync(path, aside);
  } catch {
    /* gone meanwhile: nothing to set aside */
  }
  warn(`tool state ${path} was set aside as ${aside}: ${why}; rebuilding it from the check commands`);
  return undefined;
}

/** Writes the state atomically: a temporary file in the same directory, flushed, then renamed. */
export function writeState(path: string, state: LoaderState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

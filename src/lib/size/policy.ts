import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import picomatch from 'picomatch';
import * as tar from 'tar-stream';
import type { Runner } from '../core/exec.js';

export interface FileInfo {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
}

/** The image's final filesystem: every path (absolute) with its type and mode. */
export type FileIndex = Map<string, FileInfo>;

/** Lists an image's files by exporting a (never started) container of it: names only, bodies skipped. */
export async function listImageFiles(run: Runner, bin: string, image: string): Promise<FileIndex> {
  const created = await run(bin, ['create', '--network', 'none', image, '/slipway-list'], { silent: true });
  if (created.code !== 0)
    throw new Error(`could not create a container of ${image}: ${created.stderr.trim().split('\n').pop()}`);
  const id = created.stdout.trim().split('\n').pop()!;
  try {
    const index: FileIndex = new Map();
    const child = spawn(bin, ['export', id], { stdio: ['ignore', 'pipe', 'ignore'] });
    const extract = tar.extract();
    child.stdout.pipe(extract);
    for await (const entry of extract) {
      const h = entry.header;
      const path = `/${posix
        .normalize(h.name)
        .replace(/^\.?\/*/, '')
        .replace(/\/$/, '')}`;
      const type =
        h.type === 'file' || h.type === 'directory' || h.type === 'symlink'
          ? h.type
          : h.type === 'link'
            ? 'file'
            : 'other';
      index.set(path, { type, mode: h.mode ?? 0 });
      entry.resume();
    }
    return index;
  } finally {
    await run(bin, ['rm', '-f', id], { silent: true });
  }
}

export interface PolicyFinding {
  item: string;
  /** Where it was found (forbidden), or undefined (required and missing). */
  path?: string;
}

/** Paths an item names in an index: a path or glob (its subtree too), a ~ path, or a command. */
export function findItem(index: FileIndex, pathDirs: string[], item: string): string | undefined {
  const it = item.trim();
  if (it.startsWith('~/') || it === '~') {
    const rest = it.slice(1);
    return findItem(index, pathDirs, `/root${rest}`) ?? findItem(index, pathDirs, `/home/*${rest}`);
  }
  if (it.includes('/')) {
    const pattern = posix.normalize(it.startsWith('/') ? it : `/${it}`).replace(/\/$/, '');
    if (/[*?[{]/.test(pattern)) {
      const isMatch = picomatch(pattern, { dot: true });
      for (const p of index.keys()) {
        const parts = p.split('/');
        for (let i = 2; i <= parts.length; i++) if (isMatch(parts.slice(0, i).join('/'))) return p;
      }
      return undefined;
    }
    if (index.has(pattern)) return pattern;
    for (const p of index.keys()) if (p.startsWith(`${pattern}/`)) return pattern;
    return undefined;
  }
  // A bare name: a command on the image's PATH (an executable file or a link), else a file or
  // directory of that name anywhere (a Python package such as torch, say).
  for (const dir of pathDirs) {
    const p = posix.join(dir, it);
    const f = index.get(p);
    if (f && (f.type === 'symlink' || (f.type === 'file' && f.mode & 0o111))) return p;
  }
  for (const p of index.keys()) if (posix.basename(p) === it) return p;
  return undefined;
}

/** What is forbidden and present, and what is required and absent. */
export function checkPolicy(
  index: FileIndex,
  pathDirs: string[],
  forbid: string[],
  require: string[],
): { forbidden: PolicyFinding[]; missing: PolicyFinding[] } {
  const forbidden = forbid.flatMap((item) => {
    const path = findItem(index, pathDirs, item);
    return path ? [{ item, path }] : [];
  });
  const missing = require.filter((item) => !findItem(index, pathDirs, item)).map((item) => ({ item }));
  return { forbidden, missing };
}

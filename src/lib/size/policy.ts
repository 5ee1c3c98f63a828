import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import picomatch from 'picomatch';
import * as tar from 'tar-stream';
import { childEnv, type Runner } from '../core/exec.js';
import { lastLine } from '../core/text.js';
import type { Violation } from './report.js';

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
    throw new Error(`could not create a container of ${image}: ${lastLine(created.stderr)}`);
  const id = lastLine(created.stdout);
  try {
    const index: FileIndex = new Map();
    const child = spawn(bin, ['export', id], { env: childEnv({}, bin), stdio: ['ignore', 'pipe', 'ignore'] });
    const extract = tar.extract();
    child.stdout.pipe(extract);
    for await (const entry of extract) {
      const { name, type, mode } = entry.header;
      index.set(imagePath(name), { type: fileType(type), mode: mode ?? 0 });
      entry.resume();
    }
    return index;
  } finally {
    await run(bin, ['rm', '-f', id], { silent: true });
  }
}

/** `./usr/bin/` in an export is `/usr/bin` in the image. */
function imagePath(name: string): string {
  return `/${posix
    .normalize(name)
    .replace(/^\.?\/*/, '')
    .replace(/\/$/, '')}`;
}

/** A hard link is a file as far as the policy goes. */
function fileType(type: tar.Header['type']): FileInfo['type'] {
  if (type === 'file' || type === 'directory' || type === 'symlink') return type;
  return type === 'link' ? 'file' : 'other';
}

export interface PolicyFinding {
  item: string;
  /** Where it was found (forbidden), or undefined (required and missing). */
  path?: string;
}

/** Paths an item names in an index: a path or glob (its subtree too), a ~ path, or a command. */
export function findItem(index: FileIndex, pathDirs: string[], item: string): string | undefined {
  const wanted = item.trim();
  if (wanted.startsWith('~/') || wanted === '~') {
    const rest = wanted.slice(1);
    return findItem(index, pathDirs, `/root${rest}`) ?? findItem(index, pathDirs, `/home/*${rest}`);
  }
  if (wanted.includes('/')) {
    const pattern = posix.normalize(wanted.startsWith('/') ? wanted : `/${wanted}`).replace(/\/$/, '');
    if (/[*?[{]/.test(pattern)) {
      const isMatch = picomatch(pattern, { dot: true });
      for (const path of index.keys()) {
        const parts = path.split('/');
        for (let i = 2; i <= parts.length; i++) if (isMatch(parts.slice(0, i).join('/'))) return path;
      }
      return undefined;
    }
    if (index.has(pattern)) return pattern;
    for (const path of index.keys()) if (path.startsWith(`${pattern}/`)) return pattern;
    return undefined;
  }
  // A bare name: a command on the image's PATH (an executable file or a link), else a file or
  // directory of that name anywhere (a Python package such as torch, say).
  for (const dir of pathDirs) {
    const path = posix.join(dir, wanted);
    const file = index.get(path);
    if (file && (file.type === 'symlink' || (file.type === 'file' && file.mode & 0o111))) return path;
  }
  for (const path of index.keys()) if (posix.basename(path) === wanted) return path;
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

/** The image's PATH (from its config's Env), else the usual default. */
export function imagePathDirs(env: string[] | undefined): string[] {
  const path = env?.find((variable) => variable.startsWith('PATH='))?.slice('PATH='.length);
  return (path ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':');
}

/**
 * forbid and require as violations: each forbidden item found names where it is, each required
 * item not found names itself. `env` is the image config's Env (for its PATH).
 */
export function policyViolations(
  index: FileIndex,
  env: string[] | undefined,
  forbid: string[],
  require: string[],
): Violation[] {
  const { forbidden, missing } = checkPolicy(index, imagePathDirs(env), forbid, require);
  return [
    ...forbidden.map(({ item, path }) => ({
      kind: 'forbidden' as const,
      item,
      path,
      message: `forbidden ${item} is in the image at ${path}`,
    })),
    ...missing.map(({ item }) => ({
      kind: 'missing' as const,
      item,
      message: `required ${item} is not in the image`,
    })),
  ];
}

import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import ignoreModule, { type Ignore } from '@balena/dockerignore';
import picomatch from 'picomatch';

// The package is CommonJS typed as an ES default export: take whichever shape the loader gives.
const ignoreFactory = ((ignoreModule as unknown as { default?: unknown }).default ??
  ignoreModule) as () => Ignore;

/**
 * The files of a build context as the engine sees them (after .dockerignore), and the hash of those
 * a COPY/ADD source list reads. Files are hashed once, lazily.
 */
export class ContextFiles {
  readonly files: string[];
  private readonly hashes = new Map<string, string>();

  constructor(
    readonly dir: string,
    dockerignore?: string,
  ) {
    const ignored = ignoreFactory().add(readIgnore(dir, dockerignore));
    const files: string[] = [];
    const walk = (rel: string) => {
      for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(path);
        else if (!ignored.ignores(path)) files.push(path);
      }
    };
    walk('');
    this.files = files.sort();
  }

  /** Context files a source (file, directory, or wildcard pattern; relative to the context) reads. */
  match(source: string): string[] {
    const wanted = posix.normalize(source.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (wanted === '.' || wanted === '') return this.files;
    if (/[*?[]/.test(wanted)) {
      const isMatch = picomatch(wanted, { dot: true });
      return this.files.filter((file) => {
        const parts = file.split('/');
        return parts.some((_, depth) => isMatch(parts.slice(0, depth + 1).join('/')));
      });
    }
    return this.files.filter((file) => file === wanted || file.startsWith(`${wanted}/`));
  }

  /** One hash over path, executable bit and content of every file the sources read. */
  hash(sources: string[]): string {
    const hash = createHash('sha256');
    const files = [...new Set(sources.flatMap((source) => this.match(source)))].sort();
    for (const file of files) hash.update(`${file}\0${this.fileHash(file)}\n`);
    return hash.digest('hex');
  }

  private fileHash(rel: string): string {
    let hash = this.hashes.get(rel);
    if (!hash) {
      const abs = join(this.dir, rel);
      const stat = lstatSync(abs);
      const body = stat.isSymbolicLink() ? Buffer.from(`link:${readlinkSync(abs)}`) : readFileSync(abs);
      hash = `${stat.mode & 0o111 ? 'x' : '-'}${createHash('sha256').update(body).digest('hex')}`;
      this.hashes.set(rel, hash);
    }
    return hash;
  }
}

function readIgnore(dir: string, explicit?: string): string[] {
  const path = explicit && existsSync(explicit) ? explicit : join(dir, '.dockerignore');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

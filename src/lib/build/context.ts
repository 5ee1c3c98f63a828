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
    const ig = ignoreFactory().add(readIgnore(dir, dockerignore));
    const files: string[] = [];
    const walk = (rel: string) => {
      for (const ent of readdirSync(join(dir, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${ent.name}` : ent.name;
        if (ent.isDirectory()) walk(p);
        else if (!ig.ignores(p)) files.push(p);
      }
    };
    walk('');
    this.files = files.sort();
  }

  /** Context files a source (file, directory, or wildcard pattern; relative to the context) reads. */
  match(source: string): string[] {
    const src = posix.normalize(source.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (src === '.' || src === '') return this.files;
    if (/[*?[]/.test(src)) {
      const isMatch = picomatch(src, { dot: true });
      return this.files.filter((f) => {
        const parts = f.split('/');
        return parts.some((_, i) => isMatch(parts.slice(0, i + 1).join('/')));
      });
    }
    return this.files.filter((f) => f === src || f.startsWith(`${src}/`));
  }

  /** One hash over path, executable bit and content of every file the sources read. */
  hash(sources: string[]): string {
    const h = createHash('sha256');
    const files = [...new Set(sources.flatMap((s) => this.match(s)))].sort();
    for (const f of files) h.update(`${f}\0${this.fileHash(f)}\n`);
    return h.digest('hex');
  }

  private fileHash(rel: string): string {
    let v = this.hashes.get(rel);
    if (!v) {
      const abs = join(this.dir, rel);
      const st = lstatSync(abs);
      const body = st.isSymbolicLink() ? Buffer.from(`link:${readlinkSync(abs)}`) : readFileSync(abs);
      v = `${st.mode & 0o111 ? 'x' : '-'}${createHash('sha256').update(body).digest('hex')}`;
      this.hashes.set(rel, v);
    }
    return v;
  }
}

function readIgnore(dir: string, explicit?: string): string[] {
  const path = explicit && existsSync(explicit) ? explicit : join(dir, '.dockerignore');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

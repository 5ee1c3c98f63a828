import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../../src/lib/build/dockerfile.js';
import { ROOT } from '../../harness/runner.js';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

describe('Makefile', () => {
  it('lists its targets by default', () => {
    const r = spawnSync('make', ['-s'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const t of [
      'help',
      'dev',
      'dev-build',
      'dev-shell',
      'dev-logs',
      'dev-down',
      'dev-clean',
      'deploy-cf',
      'build-image',
      'run-local',
      'test-image',
    ]) {
      expect(r.stdout, `make help should list ${t}`).toMatch(new RegExp(`^  ${t} `, 'm'));
    }
  });

  it('dev stops with a clear message when .env.local is missing, before building anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-make-'));
    try {
      copyFileSync(join(ROOT, 'Makefile'), join(dir, 'Makefile'));
      const r = spawnSync('make', ['dev'], { cwd: dir, encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('.env.local is missing: copy .env.local.example to .env.local');
      expect(r.stdout).not.toMatch(/docker build/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deploy-cf refuses to run without a token in the environment', () => {
    const r = spawnSync('make', ['deploy-cf'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CLOUDFLARE_API_TOKEN: '' },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set CLOUDFLARE_API_TOKEN');
  });
});

describe('.env.local', () => {
  it('is ignored by git', () => {
    expect(spawnSync('git', ['check-ignore', '-q', '.env.local'], { cwd: ROOT }).status).toBe(0);
  });

  it('.env.local.example documents every variable the gateway, loader and start scripts read', () => {
    const sources = [
      ...readdirSync(join(ROOT, 'deploy/loa-identity/src')).map((f) => `deploy/loa-identity/src/${f}`),
      ...readdirSync(join(ROOT, 'deploy/loa-identity/tool-loader'))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => `deploy/loa-identity/tool-loader/${f}`),
      'deploy/start-loa.sh',
      'deploy/start-loa-dev.sh',
      'deploy/loa-common.sh',
    ];
    const read_ = new Set<string>();
    for (const f of sources) {
      const text = read(f);
      for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) read_.add(m[1]!);
      for (const m of text.matchAll(/\$\{?((?:LOA|BEAUVOIR)_[A-Z0-9_]+|PORT|IMAGE_TAG|GIT_COMMIT)\b/g))
        read_.add(m[1]!);
    }
    for (const ignored of ['PATH', 'TMPDIR', 'HOME']) read_.delete(ignored);
    expect(read_.size).toBeGreaterThan(10);
    const example = read('.env.local.example');
    const missing = [...read_].filter((v) => !new RegExp(`^#? ?${v}=|\\b${v}\\b`, 'm').test(example));
    expect(missing, 'variables read but not documented in .env.local.example').toEqual([]);
  });
});

describe('deploy/ images', () => {
  it.each(['Dockerfile', 'Dockerfile.core', 'Dockerfile.dev'])(
    '%s: non-root 1000, EXPOSE 18789, HEALTHCHECK on /health, public base defaults',
    (file) => {
      const text = read(`deploy/${file}`);
      const df = parseDockerfile(text, file);
      const last = df.stages.at(-1)!;
      const all = df.stages.flatMap((s) => s.instructions);
      // The dev image inherits EXPOSE and HEALTHCHECK from the core image it is built FROM.
      const own = file === 'Dockerfile.dev' ? read('deploy/Dockerfile.core') + text : text;
      expect(last.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args).toEqual(['1000']);
      const ownInstructions = parseDockerfile(own).stages.flatMap((s) => s.instructions);
      expect(ownInstructions.some((i) => i.keyword === 'EXPOSE' && i.args.includes('18789'))).toBe(true);
      expect(ownInstructions.find((i) => i.keyword === 'HEALTHCHECK')?.text).toMatch(/\/health/);
      for (const a of df.globalArgs)
        expect(a.value, `${file}: ARG ${a.name} should default to a public image`).not.toMatch(/^slipway\//);
      expect(all.length).toBeGreaterThan(3);
    },
  );

  it('the heavy stages of the full image carry slipway:cache directives, and every stage says why it exists', () => {
    const text = read('deploy/Dockerfile');
    expect(text).toMatch(/# slipway:cache stage=rust-builder outputs=\/out/);
    expect(text).toMatch(/# slipway:cache stage=python-builder outputs=\/opt\/memory/);
    const lines = text.split('\n');
    for (const s of parseDockerfile(text).stages) {
      const above = lines
        .slice(Math.max(0, s.fromInstruction.startLine - 4), s.fromInstruction.startLine)
        .join('\n');
      expect(above, `stage ${s.name} needs a comment saying why it exists`).toMatch(/^# \S+: /m);
    }
  });
});

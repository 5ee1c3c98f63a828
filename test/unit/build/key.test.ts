import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContextFiles } from '../../../src/lib/build/context.js';
import { parseDirectives } from '../../../src/lib/build/directives.js';
import { refreshBucket, stageKey } from '../../../src/lib/build/key.js';
import { parseDockerfile } from '../../../src/lib/build/dockerfile.js';

const DOCKERFILE = `ARG RUST_IMAGE=rust:1.82
ARG UNUSED=1
# slipway:cache stage=builder outputs=/out refresh=monthly
FROM \${RUST_IMAGE} AS builder
ARG PROFILE=release
ARG GLOBAL_LATER
COPY Cargo.toml ./
COPY src/ ./src/
COPY tools/*.sh /tools/
RUN --mount=type=bind,source=build.rs,target=/b/build.rs cargo build --\${PROFILE} && cp target/probe /out/

FROM debian AS runtime
ARG APP_VERSION=1
COPY --from=builder /out/probe /usr/local/bin/
COPY app/ /app/
`;

const FILES: Record<string, string> = {
  'Cargo.toml': '[package]\nname="probe"\n',
  'src/main.rs': 'fn main() {}\n',
  'src/lib.rs': 'pub fn f() {}\n',
  'tools/gen.sh': 'echo gen\n',
  'tools/readme.md': 'not a .sh file\n',
  'build.rs': 'fn main() {}\n',
  'app/server.ts': 'serve()\n',
  'README.md': '# readme\n',
  'target/debug/junk': 'ignored by .dockerignore\n',
  '.dockerignore': 'target\n**/*.tmp\n',
};

const NOW = new Date('2026-11-22T12:00:00Z');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function contextWith(changes: Record<string, string | null> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-key-'));
  dirs.push(dir);
  for (const [p, body] of Object.entries({ ...FILES, ...changes })) {
    if (body === null) continue;
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), body);
  }
  return dir;
}

function key(
  opts: {
    dockerfile?: string;
    args?: Record<string, string>;
    files?: Record<string, string>;
    ctx?: string;
    now?: Date;
    platforms?: string[];
  } = {},
): string {
  const df = parseDockerfile(opts.dockerfile ?? DOCKERFILE);
  const [d] = parseDirectives(df);
  const stage = df.stages.find((s) => s.name === 'builder')!;
  return stageKey(
    {
      df,
      buildArgs: opts.args ?? {},
      files: new ContextFiles(opts.ctx ?? contextWith(opts.files)),
      platforms: opts.platforms ?? [],
    },
    stage,
    d!,
    opts.now ?? NOW,
  ).key;
}

describe('stage cache keys change when, and only when, an input of the stage changes', () => {
  const base = key();

  it('is stable for the same inputs and readable', () => {
    expect(key()).toBe(base);
    expect(base).toMatch(/^slipway-stage-builder-[0-9a-f]{40}$/);
  });

  const changes: Array<[string, Parameters<typeof key>[0]]> = [
    ['a file it COPYs', { files: { 'src/main.rs': 'fn main() { println!() }\n' } }],
    ['a new file in a directory it COPYs', { files: { 'src/extra.rs': '\n' } }],
    ['a file it reads through a wildcard', { files: { 'tools/gen.sh': 'echo v2\n' } }],
    ['a file it bind-mounts', { files: { 'build.rs': 'fn main() { /* v2 */ }\n' } }],
    ['a build arg it declares', { args: { PROFILE: 'debug' } }],
    ['its base image (through a global ARG)', { args: { RUST_IMAGE: 'rust:1.83' } }],
    ['one of its instructions', { dockerfile: DOCKERFILE.replace('cargo build', 'cargo build --locked') }],
    ['the refresh bucket (next month)', { now: new Date('2026-12-01T00:00:00Z') }],
    ['the target platform', { platforms: ['linux/arm64'] }],
  ];
  it.each(changes)('changes with %s', (_what, opts) => {
    expect(key(opts)).not.toBe(base);
  });

  const unrelated: Array<[string, Parameters<typeof key>[0]]> = [
    ['a file it does not read', { files: { 'app/server.ts': 'serve(2)\n' } }],
    ['a file outside its wildcard', { files: { 'tools/readme.md': 'changed\n' } }],
    ['a file .dockerignore excludes', { files: { 'target/debug/junk': 'changed\n' } }],
    ['a new ignored file inside a COPYed directory', { files: { 'src/scratch.tmp': 'x\n' } }],
    ['a later stage', { dockerfile: DOCKERFILE.replace('COPY app/ /app/', 'COPY app/ /srv/app/') }],
    ['an arg only a later stage declares', { args: { APP_VERSION: '2' } }],
    ['a global arg it does not use', { args: { UNUSED: '2' } }],
    ['a day within the same month', { now: new Date('2026-11-30T23:59:00Z') }],
    [
      'comments and line continuations',
      { dockerfile: DOCKERFILE.replace('COPY Cargo.toml ./', '# manifest first\nCOPY \\\n  Cargo.toml ./') },
    ],
  ];
  it.each(unrelated)('does not change with %s', (_what, opts) => {
    expect(key(opts)).toBe(base);
  });

  it('changes when a file only becomes executable', () => {
    const ctx = contextWith();
    chmodSync(join(ctx, 'src/main.rs'), 0o755);
    expect(key({ ctx })).not.toBe(base);
  });

  it('follows a global ARG that the stage redeclares without a default', () => {
    const df = DOCKERFILE.replace('ARG UNUSED=1', 'ARG GLOBAL_LATER=a');
    expect(key({ dockerfile: df, args: { GLOBAL_LATER: 'b' } })).not.toBe(key({ dockerfile: df }));
  });

  it("includes the key of a stage it copies from, not that stage's unrelated siblings", () => {
    const chained = `FROM alpine AS tools
COPY tools/ /tools/
# slipway:cache stage=builder outputs=/out
FROM rust AS builder
COPY --from=tools /tools /tools
RUN make
FROM alpine AS other
COPY app/ /app/
FROM debian
COPY --from=builder /out /out
`;
    const k = (ctx: string) => {
      const df = parseDockerfile(chained);
      const [d] = parseDirectives(df);
      return stageKey(
        { df, buildArgs: {}, files: new ContextFiles(ctx), platforms: [] },
        df.stages[1]!,
        d!,
        NOW,
      ).key;
    };
    const k0 = k(contextWith());
    expect(k(contextWith({ 'tools/gen.sh': 'v2\n' }))).not.toBe(k0);
    expect(k(contextWith({ 'app/server.ts': 'v2\n' }))).toBe(k0);
  });
});

describe('refresh buckets', () => {
  it.each([
    ['monthly', '2026-11-22T12:00:00Z', '2026-11'],
    ['monthly', '2027-01-01T00:00:00Z', '2027-01'],
    ['weekly', '2026-11-22T12:00:00Z', '2026-W47'],
    ['weekly', '2027-01-01T00:00:00Z', '2026-W53'],
    ['weekly', '2024-12-30T00:00:00Z', '2025-W01'],
    ['never', '2026-11-22T12:00:00Z', 'never'],
  ] as const)('%s on %s is %s', (refresh, date, bucket) => {
    expect(refreshBucket(refresh, new Date(date))).toBe(bucket);
  });
});

import { describe, expect, it } from 'vitest';
import {
  expandVars,
  parseDockerfile,
  reachableStages,
  stageDependencies,
  targetStage,
} from '../../../src/lib/build/dockerfile.js';
import { replaceStages } from '../../../src/lib/build/stage-cache.js';

const FILE = `# escape=\\
ARG RUST_IMAGE=rust:1.82
ARG DEBIAN=debian:bookworm-slim
ARG UNSET

# A comment before the builder
FROM --platform=linux/amd64 \${RUST_IMAGE} AS Rust-Builder
ARG PROFILE=release
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY ["src dir/", "./src/"]
RUN --mount=type=cache,target=/usr/local/cargo/registry \\
    --mount=type=bind,source=build.rs,target=build.rs \\
    cargo build --\${PROFILE} \\
# a comment inside a continuation is dropped
    && mkdir -p /out && cp target/\${PROFILE}/probe /out/

FROM \${DEBIAN}
RUN echo base

FROM python:3.12 AS py
RUN --mount=type=bind,from=rust-builder,source=/out,target=/r ls /r

FROM 1 AS runtime
COPY --from=rust-builder /out/probe /usr/local/bin/probe
COPY --from=0 /out /opt/out
COPY --chown=1000:1000 app/ /app/
`;

describe('Dockerfile parsing', () => {
  const df = parseDockerfile(FILE);

  it('reads ARGs before FROM with their defaults', () => {
    expect(df.globalArgs).toEqual([
      { name: 'RUST_IMAGE', value: 'rust:1.82' },
      { name: 'DEBIAN', value: 'debian:bookworm-slim' },
      { name: 'UNSET' },
    ]);
  });

  it('finds stages by name (case-insensitive) and index', () => {
    expect(df.stages.map((s) => [s.index, s.name, s.from])).toEqual([
      [0, 'rust-builder', '${RUST_IMAGE}'],
      [1, undefined, '${DEBIAN}'],
      [2, 'py', 'python:3.12'],
      [3, 'runtime', '1'],
    ]);
    expect(df.stages[0]!.fromInstruction.flags).toEqual([['platform', 'linux/amd64']]);
  });

  it('joins continuation lines and drops comments inside them', () => {
    const run = df.stages[0]!.instructions.find((i) => i.keyword === 'RUN')!;
    expect(run.startLine).toBe(11);
    expect(run.endLine).toBe(15);
    expect(run.text).not.toContain('a comment inside');
    expect(run.text).toContain('cargo build --${PROFILE} && mkdir -p /out');
  });

  it('splits out repeated --mount flags and --from', () => {
    const run = df.stages[0]!.instructions.find((i) => i.keyword === 'RUN')!;
    expect(run.flags).toEqual([
      ['mount', 'type=cache,target=/usr/local/cargo/registry'],
      ['mount', 'type=bind,source=build.rs,target=build.rs'],
    ]);
    const copy = df.stages[3]!.instructions[0]!;
    expect(copy.flags).toEqual([['from', 'rust-builder']]);
    expect(copy.args).toEqual(['/out/probe', '/usr/local/bin/probe']);
  });

  it('decodes exec-form arguments, spaces kept', () => {
    const copy = df.stages[0]!.instructions.filter((i) => i.keyword === 'COPY')[1]!;
    expect(copy.args).toEqual(['src dir/', './src/']);
  });

  it('keeps every comment with its line, the escape directive included', () => {
    expect(df.comments.map((c) => c.text)).toEqual([
      'escape=\\',
      'A comment before the builder',
      'a comment inside a continuation is dropped',
    ]);
  });

  it('resolves --from= by name and index, RUN --mount from=, and FROM <stage>', () => {
    expect(
      stageDependencies(df, df.stages[3]!)
        .map((s) => s.index)
        .sort(),
    ).toEqual([0, 1]);
    expect(stageDependencies(df, df.stages[2]!).map((s) => s.index)).toEqual([0]);
    expect(reachableStages(df, targetStage(df, 'runtime')).map((s) => s.index)).toEqual([0, 1, 3]);
    expect(reachableStages(df, targetStage(df, undefined)).map((s) => s.index)).toEqual([0, 1, 3]);
  });

  it('names the stages when the target is unknown', () => {
    expect(() => targetStage(df, 'nope')).toThrow(
      'Target "nope" is not a stage of Dockerfile (stages: rust-builder, 1, py, runtime)',
    );
  });

  it('rejects a file without FROM and instructions before FROM', () => {
    expect(() => parseDockerfile('# nothing\n')).toThrow(/has no FROM instruction/);
    expect(() => parseDockerfile('RUN x\nFROM a\n')).toThrow(/Dockerfile:1: RUN before the first FROM/);
  });

  it('expands $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alt}', () => {
    const v = { A: 'x', E: '' };
    expect(expandVars('$A ${A} ${B:-d} ${E:-d} ${A:+alt} ${B:+alt}|', v)).toBe('x x d d alt |');
  });

  it('replaces a stage by an image, keeping line numbers', () => {
    const out = replaceStages(df, new Map([[0, 'slipway-stage/rust-builder:abc']])).split('\n');
    expect(out).toHaveLength(df.lines.length);
    expect(out[6]).toBe('FROM slipway-stage/rust-builder:abc AS rust-builder');
    expect(out.slice(7, 16).every((l) => l === '')).toBe(true);
    expect(out[17]).toBe('FROM ${DEBIAN}');
    expect(parseDockerfile(out.join('\n')).stages.map((s) => s.name)).toEqual([
      'rust-builder',
      undefined,
      'py',
      'runtime',
    ]);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAction, workflowCommands } from '../harness/runner.js';

/**
 * A problem at a line of a Dockerfile is annotated on that line: the runner turns
 * `::error file=<path>,line=<n>::` into an annotation on the file in the pull request, with the path
 * relative to the workspace (GitHub's "workflow commands: setting an error message"). These fail
 * while the build is planned, before the engine is asked anything.
 */
describe('build-image: Dockerfile and directive problems are annotations on the file and line', () => {
  const workspace = mkdtempSync(join(tmpdir(), 'slipway-annotations-'));
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  const run = async (file: string, dockerfile: string) => {
    mkdirSync(join(workspace, file, '..'), { recursive: true });
    writeFileSync(join(workspace, file), dockerfile);
    const r = await runAction(
      'build-image',
      { file, context: '.' },
      { cwd: workspace, env: { GITHUB_WORKSPACE: workspace } },
    );
    return { r, errors: workflowCommands(r.stdout).filter((c) => c.command === 'error') };
  };

  it.each([
    [
      'a malformed directive',
      'Dockerfile',
      'FROM scratch AS b\n# slipway:cache stage=b\nFROM scratch\nCOPY --from=b /out /out\n',
      'file=Dockerfile,line=2',
      /^Dockerfile:2: a slipway:cache directive needs stage=NAME and outputs=DIR/,
    ],
    [
      'a directive naming no stage, in a nested Dockerfile',
      'services/api/Dockerfile.api',
      'FROM scratch AS b\nFROM scratch\n# slipway:cache stage=nope outputs=/out\nCOPY --from=b /out /out\n',
      'file=services/api/Dockerfile.api,line=3',
      /^services\/api\/Dockerfile\.api:3: slipway:cache names stage "nope"/,
    ],
    [
      'an instruction before the first FROM',
      'Dockerfile.early',
      'ARG X=1\nRUN echo early\nFROM scratch\n',
      'file=Dockerfile.early,line=2',
      /^Dockerfile\.early:2: RUN before the first FROM/,
    ],
  ])('%s', async (_, file, dockerfile, properties, message) => {
    const { r, errors } = await run(file, dockerfile);
    expect(r.code).toBe(1);
    expect(errors, 'exactly one error, annotated on the file and line').toHaveLength(1);
    expect(errors[0]!.properties).toBe(properties);
    expect(errors[0]!.data).toMatch(message);
  });

  it('a problem with no line (no Dockerfile at all) is a plain error', async () => {
    const r = await runAction(
      'build-image',
      { file: 'missing/Dockerfile' },
      { cwd: workspace, env: { GITHUB_WORKSPACE: workspace } },
    );
    const errors = workflowCommands(r.stdout).filter((c) => c.command === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.properties).toBe('');
  });
});

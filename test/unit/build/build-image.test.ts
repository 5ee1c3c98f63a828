import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildImage, type BuildImageOptions, type BuildOutputs } from '../../../src/lib/build/index.js';
import { UserError } from '../../../src/lib/core/errors.js';
import { fakeDeps, type Call, type Rule } from '../../harness/fakes.js';

const IMAGE = 'slipway-unit/app';
const IMAGE_ID = `sha256:${'ab12'.repeat(16)}`;
const DIGEST = `sha256:${'cd34'.repeat(16)}`;

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A build context holding one Dockerfile. */
function contextWith(dockerfile: string): string {
  const context = tempDir('slipway-build-unit-ctx-');
  writeFileSync(join(context, 'Dockerfile'), dockerfile);
  return context;
}

function options(context: string, extra: Partial<BuildImageOptions> = {}): BuildImageOptions {
  return {
    context,
    file: '',
    buildArgs: [],
    secrets: [],
    image: IMAGE,
    extraTags: [],
    push: false,
    platforms: [],
    labels: [],
    cache: 'stage',
    cacheStore: 'local',
    cacheDir: tempDir('slipway-build-unit-store-'),
    run: { eventName: 'push', ref: '', sha: '' },
    ...extra,
  };
}

/** Writes the image ID where the build command was told to (--iidfile), as the engine does. */
function writeIid(call: Call): void {
  const at = call.args.indexOf('--iidfile');
  if (at >= 0) writeFileSync(call.args[at + 1]!, `${IMAGE_ID}\n`);
}

const isBuild = (call: Call) => call.args[0] === 'build';

/** docker 28 without buildx: the classic builder, whose output says which steps were cached. */
const engineRules: Rule[] = [
  {
    match: 'version --format',
    result: { stdout: JSON.stringify({ Client: { Version: '28.2.2' }, Server: { Version: '28.2.2' } }) },
  },
  { match: 'buildx version', result: { code: 1, stderr: "docker: 'buildx' is not a docker command." } },
];
const classicBuild: Rule = {
  match: / build --file /,
  result: (call) => {
    writeIid(call);
    return { stdout: 'Step 1/2 : FROM debian\nStep 2/2 : RUN make\n ---> Using cache\n ---> 6704c35d148b' };
  },
};
const failingBuild: Rule = {
  match: / build --file /,
  result: {
    code: 1,
    stdout: 'Step 1/2 : FROM debian\nStep 2/2 : RUN make && exit 3\n ---> Running in 39db1dd72cb6',
    stderr: 'ERROR: process "/bin/sh -c make && exit 3" did not complete successfully: exit code: 3',
  },
};

const PLAIN = 'FROM debian\nRUN make\n';
const CACHED_STAGE =
  '# slipway:cache stage=builder outputs=/out\nFROM debian AS builder\nRUN mkdir /out && exit 4\nFROM debian\nCOPY --from=builder /out /out\n';

interface ResultCase {
  name: string;
  dockerfile: string;
  extra?: Partial<BuildImageOptions>;
  rules: Rule[];
  outputs: Partial<BuildOutputs>;
  failure?: RegExp;
  /** Lines the summary must hold, and lines it must not. */
  summary: string[];
  notInSummary?: string[];
  /** Commands (after the binary) the build must have run. */
  ran?: RegExp[];
}

const resultCases: ResultCase[] = [
  {
    name: 'a plain build (no directives): outputs, and a summary of image, builder, cached steps and tags',
    dockerfile: PLAIN,
    rules: [...engineRules, classicBuild],
    outputs: {
      image: `${IMAGE}:dev-local`,
      imageId: IMAGE_ID,
      tags: `${IMAGE}:dev-local`,
      digest: '',
      cacheHitRatio: 1,
      stageCache: '[]',
    },
    summary: [
      `### build-image: \`${IMAGE}:dev-local\``,
      `| Image ID | \`${IMAGE_ID.slice(7, 19)}\` |`,
      '| Builder | the classic builder |',
      '| Cached steps | 1 / 1 (100%) |',
      '| Pushed | no |',
      `#### Tags\n\n- \`${IMAGE}:dev-local\``,
    ],
    notInSummary: ['failed', '#### Stage cache'],
  },
  {
    name: 'a build that writes no image ID file: the ID is read with image inspect',
    dockerfile: PLAIN,
    extra: { extraTags: ['edge'] },
    rules: [
      ...engineRules,
      { match: / build --file /, result: { stdout: 'Step 1/1 : FROM debian' } },
      { match: `image inspect --format {{.Id}} ${IMAGE}:dev-local`, result: { stdout: `${IMAGE_ID}\n` } },
    ],
    outputs: { imageId: IMAGE_ID, tags: `${IMAGE}:dev-local\n${IMAGE}:edge`, cacheHitRatio: 0 },
    summary: ['| Cached steps | 0 / 0 |', `- \`${IMAGE}:edge\``],
  },
  {
    name: 'a push with the classic builder: every tag pushed, the digest read from RepoDigests',
    dockerfile: PLAIN,
    extra: { push: true, extraTags: ['e2e'] },
    rules: [
      ...engineRules,
      classicBuild,
      { match: / push /, result: {} },
      {
        match: '{{json .RepoDigests}}',
        result: { stdout: JSON.stringify([`other/app@sha256:0`, `${IMAGE}@${DIGEST}`]) },
      },
    ],
    outputs: { digest: DIGEST },
    summary: [`| Pushed | \`${DIGEST}\` |`],
    ran: [new RegExp(` push ${IMAGE}:dev-local$`), new RegExp(` push ${IMAGE}:e2e$`)],
  },
  {
    name: 'a failed build: failure with the failing line, outputs and a summary that says it failed',
    dockerfile: PLAIN,
    rules: [...engineRules, failingBuild],
    outputs: { image: `${IMAGE}:dev-local`, imageId: '', digest: '', cacheHitRatio: 0, stageCache: '[]' },
    failure:
      /^The image build failed \(exit 1\): ERROR: process .*exit code: 3 \(full output in the "docker build" group above\)\.$/,
    summary: [
      `### build-image: \`${IMAGE}:dev-local\` failed`,
      '**Failed:** The image build failed (exit 1)',
    ],
    notInSummary: ['| Image ID |', '#### Tags', '| Pushed |'],
  },
  {
    name: 'a failed push: failure naming the push, with the built image in outputs and summary',
    dockerfile: PLAIN,
    extra: { push: true },
    rules: [
      ...engineRules,
      classicBuild,
      { match: / push /, result: { code: 1, stderr: 'denied: requested access' } },
    ],
    outputs: { imageId: IMAGE_ID, digest: '' },
    failure: new RegExp(`^push of ${IMAGE}:dev-local failed: denied: requested access$`),
    summary: ['failed', `| Image ID | \`${IMAGE_ID.slice(7, 19)}\` |`, '#### Tags'],
  },
  {
    name: 'a cached stage that fails to build: failure naming the stage, its build image removed',
    dockerfile: CACHED_STAGE,
    rules: [
      ...engineRules,
      {
        match: / build --file .* --target builder /,
        result: { code: 1, stdout: 'Step 2/2 : RUN mkdir /out && exit 4', stderr: 'exit code: 4' },
      },
      { match: / image rm -f slipway-stage-build\/builder:/, result: {} },
    ],
    outputs: { imageId: '', stageCache: '[]' },
    failure: /^Building stage builder failed: exit code: 4 \(the build output above has the details\)\.$/,
    summary: ['### build-image: `slipway-unit/app:dev-local` failed', '**Failed:** Building stage builder'],
    notInSummary: ['#### Tags'],
    ran: [/ image rm -f slipway-stage-build\/builder:[0-9a-f]{12}$/],
  },
];

describe('buildImage with a scripted engine', () => {
  it.each(resultCases)('$name', async (testCase) => {
    const runnerTemp = tempDir('slipway-build-unit-runner-');
    const deps = fakeDeps(testCase.rules, {
      env: { SLIPWAY_DOCKER: process.execPath, RUNNER_TEMP: runnerTemp },
    });
    const result = await buildImage(options(contextWith(testCase.dockerfile), testCase.extra), deps);
    expect(result.outputs, 'outputs').toMatchObject(testCase.outputs);
    expect(result.outputs.durationSeconds, 'duration').toBeGreaterThanOrEqual(0);
    if (testCase.failure) expect(result.failure, 'failure').toMatch(testCase.failure);
    else expect(result.failure, 'a build that succeeded has no failure').toBeUndefined();
    for (const line of testCase.summary) expect(result.summary, 'summary').toContain(line);
    for (const line of testCase.notInSummary ?? []) expect(result.summary, 'summary').not.toContain(line);
    const lines = deps.run.calls.map((call) => call.line);
    for (const command of testCase.ran ?? [])
      expect(lines, `ran ${command}`).toContainEqual(expect.stringMatching(command));
    expect(readdirSync(runnerTemp), 'the build leaves no temporary directory behind').toEqual([]);
  });
});

describe('buildImage with bad input', () => {
  it.each([
    [
      'a directive naming an unknown stage',
      '# slipway:cache stage=compiler outputs=/out\nFROM debian AS builder\nRUN true\n',
      {},
      /Dockerfile:1: slipway:cache names stage "compiler", which is not a stage/,
    ],
    [
      'a malformed directive',
      '# slipway:cache stage=builder\nFROM debian AS builder\nRUN true\nFROM debian\nCOPY --from=builder /out /out\n',
      {},
      /Dockerfile:1: a slipway:cache directive needs stage=NAME and outputs=DIR/,
    ],
    ['an unknown target', PLAIN, { target: 'nope' }, /Target "nope" is not a stage of \/\S+\/Dockerfile \(/],
    ['a missing Dockerfile', PLAIN, { file: 'nope/Dockerfile' }, /No Dockerfile at .*nope\/Dockerfile/],
  ] as Array<[string, string, Partial<BuildImageOptions>, RegExp]>)(
    '%s throws a UserError before anything is built',
    async (_name, dockerfile, extra, message) => {
      const deps = fakeDeps([...engineRules, classicBuild], { env: { SLIPWAY_DOCKER: process.execPath } });
      const built = buildImage(options(contextWith(dockerfile), extra), deps);
      await expect(built).rejects.toThrow(UserError);
      await expect(built).rejects.toThrow(message);
      expect(deps.run.calls.filter(isBuild), 'no build command may run for bad input').toEqual([]);
    },
  );
});

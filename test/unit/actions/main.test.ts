import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { createFileCommandFiles, parseFileCommands } from '../../../tools/local-runner/files.js';
import { ROOT } from '../../harness/runner.js';

// Each entry's logic is replaced by one that returns `canned.result`: what is under test here is the
// thin entry (src/actions/<name>/main.ts), i.e. that it hands every output the logic returns to the
// runner under the name action.yml declares, writes the summary, and fails the step on `failure`.
const canned = vi.hoisted(() => ({ result: undefined as unknown, calls: 0, args: [] as unknown[] }));
const fake = async (...args: unknown[]) => {
  canned.calls++;
  canned.args = args;
  return canned.result;
};
vi.mock('../../../src/lib/build/index.js', async (original) => ({ ...(await original()), buildImage: fake }));
vi.mock('../../../src/lib/size/index.js', async (original) => ({ ...(await original()), sizeBudget: fake }));
vi.mock('../../../src/lib/boot/index.js', async (original) => ({ ...(await original()), bootTest: fake }));
vi.mock('../../../src/lib/deploy/deploy.js', async (original) => ({ ...(await original()), deploy: fake }));
vi.mock('../../../src/lib/deploy/rollback.js', async (original) => ({
  ...(await original()),
  rollback: fake,
}));
vi.mock('../../../src/lib/smoke/index.js', async (original) => ({ ...(await original()), smokeTest: fake }));
vi.mock('../../../src/lib/report/index.js', async (original) => ({
  ...(await original()),
  reportToGitHub: fake,
}));

/** Each action, the inputs its entry needs to get as far as its logic, and its OUTPUTS constant. */
const ACTIONS: Array<[string, Record<string, string>]> = [
  ['build-image', {}],
  ['size-budget', { image: 'app:1' }],
  ['boot-test', { image: 'app:1' }],
  ['deploy', {}],
  ['rollback', {}],
  ['smoke-test', { url: 'https://app.example.workers.dev' }],
  ['report', { token: 'ghs_canary', state: 'success' }],
];

const declaredOutputs = (name: string) =>
  Object.keys(
    (parse(readFileSync(join(ROOT, 'actions', name, 'action.yml'), 'utf8')) as { outputs: object }).outputs,
  ).sort();

let dir: string;
let files: ReturnType<typeof createFileCommandFiles>;
const saved = { ...process.env };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-main-'));
  files = createFileCommandFiles(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

/** Runs an entry's run() in this process as the runner would: inputs in INPUT_*, fresh files. */
async function runEntry(
  name: string,
  inputs: Record<string, string>,
  result: unknown,
  env: Record<string, string> = {},
) {
  createFileCommandFiles(dir);
  process.env = { ...saved, ...files, RUNNER_TEMP: dir, GITHUB_REPOSITORY: 'acme/gateway', ...env };
  for (const [key, value] of Object.entries(inputs)) process.env[`INPUT_${key.toUpperCase()}`] = value;
  // build-image's entry also logs from its stage-cache report: an extra of its result.
  canned.result = { stageCache: [], ...(result as object) };
  canned.calls = 0;
  const stdout: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
  const entry = (await import(`../../../src/actions/${name}/main.ts`)) as { run(): Promise<void> };
  await entry.run();
  vi.mocked(process.stdout.write).mockRestore();
  return {
    outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    stdout: stdout.join(''),
  };
}

describe.each(ACTIONS)('the %s entry hands its logic’s result to the runner', (name, inputs) => {
  it('sets every declared output, from the key OUTPUTS names it by, and the summary', async () => {
    const { OUTPUTS } = (await import(`../../../src/actions/${name}/inputs.ts`)) as {
      OUTPUTS: Record<string, string>;
    };
    const outputs = Object.fromEntries(Object.keys(OUTPUTS).map((key) => [key, `value of ${key}`]));
    const run = await runEntry(name, inputs, { outputs, summary: `### ${name} summary\n` });
    expect(canned.calls, 'the entry called its logic once').toBe(1);
    expect(Object.keys(run.outputs).sort(), 'outputs set = outputs declared in action.yml').toEqual(
      declaredOutputs(name),
    );
    for (const [key, output] of Object.entries(OUTPUTS))
      expect(run.outputs[output], `output ${output} carries the logic's ${key}`).toBe(`value of ${key}`);
    expect(run.summary).toContain(`### ${name} summary`);
    expect(process.exitCode ?? 0, 'no failure: the step passes').toBe(0);
  });

  it('turns numbers and booleans into the strings the runner passes on', async () => {
    const { OUTPUTS } = (await import(`../../../src/actions/${name}/inputs.ts`)) as {
      OUTPUTS: Record<string, string>;
    };
    const [first, second] = Object.keys(OUTPUTS);
    const outputs = { ...Object.fromEntries(Object.keys(OUTPUTS).map((k) => [k, ''])), [first!]: 0.25 };
    if (second) outputs[second] = false as unknown as string;
    const run = await runEntry(name, inputs, { outputs, summary: '' });
    expect(run.outputs[OUTPUTS[first!]!]).toBe('0.25');
    if (second) expect(run.outputs[OUTPUTS[second]!]).toBe('false');
  });

  it('fails the step with the one line of a failure, outputs and summary still written', async () => {
    const { OUTPUTS } = (await import(`../../../src/actions/${name}/inputs.ts`)) as {
      OUTPUTS: Record<string, string>;
    };
    const outputs = Object.fromEntries(Object.keys(OUTPUTS).map((key) => [key, `value of ${key}`]));
    const failure = `${name} failed: the reason, in one line`;
    const run = await runEntry(name, inputs, { outputs, summary: `### ${name} ❌\n`, failure });
    expect(process.exitCode).toBe(1);
    expect(run.stdout).toContain(`::error::${failure}`);
    expect(Object.keys(run.outputs).sort()).toEqual(declaredOutputs(name));
    expect(run.summary).toContain(`### ${name} ❌`);
  });
});

describe('the report entry hands the preview inputs and the pull request to its logic', () => {
  const event = { GITHUB_EVENT_PATH: join(ROOT, 'test/fixtures/events/pull-request.json') };
  const result = { outputs: { commentId: '', deploymentId: '', deactivated: 0 }, summary: '', problems: [] };
  it('a preview: no commit status, the URL, version and note, on the head commit of pull request 42', async () => {
    await runEntry(
      'report',
      {
        token: 'ghs_canary',
        state: 'success',
        'commit-status': 'false',
        'preview-url': 'https://pr-42-gw.acme.workers.dev',
        'preview-version': 'v-1',
        'preview-environment': 'preview/pr-42',
      },
      result,
      event,
    );
    expect(canned.args[0]).toMatchObject({
      sha: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
      pullNumber: 42,
      commitStatus: false,
      preview: { url: 'https://pr-42-gw.acme.workers.dev', versionId: 'v-1', environment: 'preview/pr-42' },
    });
  });
  it('closing: deactivate-environment alone, no state needed', async () => {
    await runEntry(
      'report',
      { token: 'ghs_canary', 'deactivate-environment': 'preview/pr-42' },
      result,
      event,
    );
    expect(canned.args[0]).toMatchObject({ deactivateEnvironment: 'preview/pr-42', pullNumber: 42 });
    expect(process.exitCode ?? 0).toBe(0);
  });
});

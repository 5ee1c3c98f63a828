import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contextVariables,
  runComposite,
  type CompositeOptions,
  type CompositeRun,
} from '../../../tools/local-runner/composite.js';
import { ROOT } from '../../harness/runner.js';

const FIXTURE = join(ROOT, 'test/fixtures/composite');

describe('the github context as GITHUB_* variables (actions/runner GitHubContext.cs)', () => {
  it.each([
    [
      { sha: 'abc', ref: 'refs/heads/main', event_name: 'push' },
      { GITHUB_SHA: 'abc', GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_NAME: 'push' },
    ],
    [{ token: 'ghs_secret', event: 'x' }, {}],
    [{ ref_protected: true }, { GITHUB_REF_PROTECTED: 'True' }],
    [
      { run_id: '42', workflow_sha: 'def', server_url: 'https://github.com' },
      { GITHUB_RUN_ID: '42', GITHUB_WORKFLOW_SHA: 'def', GITHUB_SERVER_URL: 'https://github.com' },
    ],
  ])('%j → %j', (github, variables) => {
    expect(contextVariables(github as never)).toEqual(variables);
  });
});

describe('the local composite runner', () => {
  it('passes outputs and GITHUB_ENV along, runs success() steps, skips failure() steps', async () => {
    const lines: string[] = [];
    const r = await runComposite(FIXTURE, { greeting: 'hi' }, { onLine: (s, l) => lines.push(`${s}: ${l}`) });
    expect(r.code).toBe(0);
    expect(r.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['one', 'success'],
      ['two', 'success'],
      ['three', 'success'],
      ['recover', 'skipped'],
    ]);
    expect(r.outputs).toEqual({ first: 'hi world', recovered: 'false' });
    expect(lines).toContain('three: three ran with from-one');
  });

  it('after a failure: later success() steps are skipped, failure() steps run, the run fails', async () => {
    const lines: string[] = [];
    const r = await runComposite(FIXTURE, { fail: 'true' }, { onLine: (s, l) => lines.push(`${s}: ${l}`) });
    expect(r.code).toBe(1);
    expect(r.steps.map((s) => s.outcome)).toEqual(['success', 'failure', 'skipped', 'success']);
    expect(r.outputs.recovered).toBe('true');
    expect(lines).toContain('recover: recovering, from-one, after failure');
  });

  it('unknown inputs are refused, as the runner warns', async () => {
    await expect(runComposite(FIXTURE, { greting: 'typo' })).rejects.toThrow(
      'Unexpected input "greting": composite fixture has no such input',
    );
  });
});

const RUNNER_FIXTURES = join(ROOT, 'test/fixtures/runner');
const RUNTIME = {
  ACTIONS_RUNTIME_TOKEN: 'runtime-token-canary-5f1e',
  ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/',
  ACTIONS_CACHE_SERVICE_V2: 'True',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/oidc',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-request-token',
};

/** Runs a fixture of test/fixtures/runner as a job would, with its log as `step: line`. */
async function runFixture(name: string, inputs: Record<string, string> = {}, options: CompositeOptions = {}) {
  return runComposite(join(RUNNER_FIXTURES, name), inputs, {
    workspace: RUNNER_FIXTURES,
    runtime: RUNTIME,
    github: { token: 'github-token-from-context' },
    node: { node24: process.execPath },
    ...options,
  });
}

describe("the local runner models GitHub's runner rules", () => {
  it('a run step gets no runtime token, cache URL or INPUT_*; a JavaScript action step gets them', async () => {
    const r = await runFixture('rules', {}, { env: { ...process.env, ...RUNTIME } });
    const step = (id: string) => r.steps.find((s) => s.id === id)!;
    expect(r.outputs['run-saw']).toBe('token:none results:none input:none oidc:http://127.0.0.1:9/oidc');
    expect(step('js').outputs).toMatchObject({
      'saw-token': 'yes',
      'saw-cache-url': RUNTIME.ACTIONS_RESULTS_URL,
      who: 'world',
      // an input default that is an expression is evaluated
      'token-input': 'github-token-from-context',
      // a JavaScript action inside a composite sees the composite's directory
      'action-path': join(RUNNER_FIXTURES, 'rules'),
    });
    expect(step('nested').outputs['saw-token'], 'a composite used by a composite').toBe('yes');
    expect(r.log.join('\n'), 'the runtime token is masked').not.toContain(RUNTIME.ACTIONS_RUNTIME_TOKEN);
    expect(r.log).toContain('js: printing the token: ***');
  });

  it('post steps run after every main step, last registered first, with the state their main saved', async () => {
    const r = await runFixture('rules');
    expect(r.posts.map((p) => [p.name, p.outcome])).toEqual([
      ['Post inner', 'success'],
      ['Post js', 'success'],
    ]);
    const posts = r.log.filter((l) => l.startsWith('Post '));
    expect(posts).toEqual([
      'Post inner: post: greeted nested world, who=nested world',
      'Post js: post: greeted world, who=world',
    ]);
    expect(r.log.indexOf(posts[0]!)).toBeGreaterThan(r.log.findIndex((l) => l.startsWith('mask:')));
  });

  it('bash runs with pipefail, sh without; continue-on-error may be an expression', async () => {
    const strict = await runFixture('rules');
    const outcome = (r: CompositeRun, id: string) => r.steps.find((s) => s.id === id)!.outcome;
    expect(outcome(strict, 'bash-pipe')).toBe('failure');
    expect(outcome(strict, 'sh-pipe'), 'a later plain step after a failure is skipped').toBe('skipped');
    expect(strict.code).toBe(1);
    const tolerant = await runFixture('rules', { tolerate: 'yes' });
    expect(outcome(tolerant, 'bash-pipe')).toBe('failure');
    expect(outcome(tolerant, 'sh-pipe'), '`false | true` succeeds in sh').toBe('success');
    expect(tolerant.code).toBe(0);
  });

  it('GITHUB_PATH reaches later steps; ::add-mask:: masks from then on, not inside ::stop-commands::', async () => {
    const r = await runFixture('rules', { tolerate: 'yes' });
    expect(r.log).toContain('use-path: the tool on PATH ran');
    const mask = r.log.filter((l) => l.startsWith('mask: '));
    expect(mask).toEqual([
      'mask: the secret is ***',
      'mask: ::stop-commands::pause-fixture',
      'mask: ::add-mask::plain-words',
      'mask: ::pause-fixture::',
      'mask: plain-words stay',
    ]);
  });

  it('a cancelled job: the running step gets SIGINT; only always() and cancelled() steps run after it', async () => {
    const cancel = new AbortController();
    const r = await runFixture(
      'cancel',
      {},
      {
        signal: cancel.signal,
        onLine: (_, line) => line === 'long step started' && cancel.abort(),
      },
    );
    expect(r.cancelled).toBe(true);
    expect(r.code).toBe(1);
    expect(Object.fromEntries(r.steps.map((s) => [s.id, s.outcome]))).toEqual({
      broken: 'skipped',
      long: 'cancelled',
      plain: 'skipped',
      'on-failure': 'skipped',
      'on-cancel': 'success',
      'on-always': 'success',
    });
    expect(r.log).toContain('long: got SIGINT');
  });

  it('an if: that cannot be evaluated fails its step and ends the composite, always() steps too', async () => {
    const r = await runFixture('cancel', { 'bad-if': 'yes' });
    expect(r.code).toBe(1);
    expect(r.steps.map((s) => [s.id, s.outcome])).toEqual([['broken', 'failure']]);
    expect(r.log.join('\n')).toMatch(/broken: ##\[error\].*JSON/i);
  });

  it('a remote action is used from the copy the runner was given, and refused without one', async () => {
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'slipway-remote-'));
    try {
      writeFileSync(
        join(dir, 'action.yml'),
        'name: remote\ndescription: uses a remote action\nruns:\n  using: composite\n  steps:\n    - uses: someone/js-tools@0123456789abcdef0123456789abcdef01234567\n      with: { who: remote }\n',
      );
      const refused = await runComposite(dir, {}, { workspace: RUNNER_FIXTURES });
      expect(refused.code).toBe(1);
      expect(refused.log.join('\n')).toContain('someone/js-tools cannot be downloaded here');
      const used = await runComposite(
        dir,
        {},
        {
          workspace: RUNNER_FIXTURES,
          node: { node24: process.execPath },
          remoteActions: { 'someone/js-tools': join(RUNNER_FIXTURES, 'js-action') },
        },
      );
      expect(used.code, used.log.join('\n')).toBe(0);
      expect(used.posts.map((p) => p.outcome)).toEqual(['success']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

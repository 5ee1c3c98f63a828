import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deploy,
  refuseForeignPlatform,
  type DeployOptions,
  type DeployOutputs,
} from '../../../src/lib/deploy/deploy.js';
import type { Rule } from '../../harness/fakes.js';
import {
  answer,
  apiFailure,
  APP_ID,
  cloudflareModel,
  COMPLETES,
  connection,
  failed,
  fakeProject,
  liveVersions,
  modelApp,
  modelRollout,
  NAMESPACE,
  NEW,
  NEW_IMAGE,
  OLD_IMAGE,
  OURS,
  scriptedDeps,
  STUCK,
  STUCK_REASON,
  THEIRS,
  UNREADABLE,
  versionsView,
  wranglerCalls,
  type Live,
  type WranglerAnswer,
} from './wrangler-script.js';

const URL = 'https://slipway-fixture.slipway-test.workers.dev';
const deployed = (versionId: string): object => ({
  type: 'deploy',
  version: 1,
  worker_name: 'slipway-fixture',
  version_id: versionId,
  targets: [URL],
});

/** Production as deploy records it: the Worker's versions, no container application. */
const state = (live: Live): string =>
  JSON.stringify({
    versions: typeof live !== 'string' ? live : live ? [{ version_id: live, percentage: 100 }] : [],
    applications: [],
  });

interface Case {
  name: string;
  /** The live deployment before the deploy, then after it. */
  live: Live[];
  wrangler: WranglerAnswer;
  outputs: DeployOutputs;
  failure?: string;
  title: string;
  /** The summary's Production row, exactly. */
  production: string;
  /** Another row of the summary, exactly. */
  row?: string;
  logged?: string;
}

/** The outputs of a deploy wrangler reported as NEW over OURS, live unless told otherwise. */
const shipped = (differences: Partial<DeployOutputs> = {}): DeployOutputs => ({
  versionId: NEW,
  previousVersionId: OURS,
  deploymentUrl: URL,
  workerName: 'slipway-fixture',
  deployed: true,
  liveVersionId: NEW,
  productionChanged: true,
  previousState: state(OURS),
  deployedState: state(NEW),
  reversible: true,
  ...differences,
});

/** The outputs when wrangler reported no version and OURS stayed live. */
const NOTHING_SHIPPED: DeployOutputs = {
  versionId: '',
  previousVersionId: OURS,
  deploymentUrl: '',
  workerName: '',
  deployed: false,
  liveVersionId: OURS,
  productionChanged: false,
  previousState: state(OURS),
  deployedState: state(OURS),
  reversible: true,
};

const apiDown = apiFailure('deployment service unavailable');

const cases: Case[] = [
  {
    name: 'the new version is live',
    live: [OURS, NEW],
    wrangler: { entries: [deployed(NEW)] },
    outputs: shipped(),
    title: '`slipway-fixture` ✅ live',
    production: `production now serves the new version ${NEW}`,
    row: `| Previous | \`${OURS}\` |`,
    logged: `Live before deploying: Worker ${OURS}`,
  },
  {
    name: 'a first deploy: no previous version',
    live: ['', NEW],
    wrangler: { entries: [deployed(NEW)] },
    outputs: shipped({ previousVersionId: '', previousState: state('') }),
    title: '`slipway-fixture` ✅ live',
    production: `production now serves the new version ${NEW}`,
    row: '| Previous | `(first deploy)` |',
    logged: 'Live before deploying: Worker nothing',
  },
  {
    name: "wrangler fails with its code: the code, wrangler's and the API's words, production unchanged",
    live: [OURS, OURS],
    wrangler: apiDown,
    outputs: NOTHING_SHIPPED,
    failure: `wrangler deploy failed (code 10013): A request to the Cloudflare API (/deployments) failed. deployment service unavailable; production is unchanged (still ${OURS}).`,
    title: '`worker` ❌ not deployed',
    production: `production is unchanged (still ${OURS})`,
    row: '| Version | `–` |',
  },
  {
    name: 'wrangler crashes without its output file: its last line, production unchanged',
    live: [OURS, OURS],
    wrangler: { code: 1, stderr: 'Uploading…\nError: socket hang up\n' },
    outputs: NOTHING_SHIPPED,
    failure: `wrangler deploy failed: Error: socket hang up; production is unchanged (still ${OURS}).`,
    title: '`worker` ❌ not deployed',
    production: `production is unchanged (still ${OURS})`,
  },
  {
    name: 'wrangler says deployed, but something else is live: not deployed, production changed',
    live: [OURS, THEIRS],
    wrangler: {
      entries: [deployed(NEW)],
      stdout: 'Uploaded slipway-fixture\nDeployed slipway-fixture triggers',
    },
    outputs: shipped({ deployed: false, liveVersionId: THEIRS, deployedState: state(THEIRS) }),
    failure: `wrangler deploy failed: Deployed slipway-fixture triggers; production serves ${THEIRS}, neither the previous ${OURS} nor a version of this deploy.`,
    title: '`slipway-fixture` ❌ not deployed',
    production: `production serves ${THEIRS}, neither the previous ${OURS} nor a version of this deploy`,
  },
  {
    name: 'the read-back after the deploy fails: production is said to serve nothing, no throw',
    live: [OURS, UNREADABLE],
    wrangler: { entries: [deployed(NEW)] },
    outputs: shipped({
      deployed: false,
      liveVersionId: '',
      productionChanged: false,
      deployedState: state(''),
    }),
    failure: `wrangler deploy failed: no message; production serves nothing, neither the previous ${OURS} nor a version of this deploy.`,
    title: '`slipway-fixture` ❌ not deployed',
    production: `production serves nothing, neither the previous ${OURS} nor a version of this deploy`,
  },
];

describe('deploy', () => {
  let project: ReturnType<typeof fakeProject>;
  beforeAll(() => {
    project = fakeProject();
  });
  afterAll(() => project.remove());

  const options = (extra: Partial<DeployOptions> = {}): DeployOptions => ({
    ...connection(project.dir),
    message: 'ship it',
    secrets: [],
    vars: [],
    dryRun: false,
    rolloutTimeoutMs: 600_000,
    allowIrreversible: false,
    ...extra,
  });

  it.each(cases)('$name', async (spec) => {
    const rules: Rule[] = [
      ...liveVersions(...spec.live),
      { match: / deploy /, result: answer(spec.wrangler) },
    ];
    const deps = scriptedDeps(rules, project.runnerTemp);
    const result = await deploy(options(), deps);
    const context = `summary:\n${result.summary}\nlog:\n${deps.log.lines.join('\n')}`;
    expect(result.outputs, context).toEqual(spec.outputs);
    expect(result.failure, context).toBe(spec.failure);
    const lines = result.summary.split('\n');
    expect(lines[0]).toBe(`### deploy: ${spec.title}`);
    expect(lines, context).toContain(`| Production | ${spec.production} |`);
    if (spec.row) expect(lines, context).toContain(spec.row);
    if (spec.failure) expect(lines, context).toContain(`| Error | ${spec.failure} |`);
    else expect(result.summary, context).not.toContain('| Error |');
    if (spec.logged) expect(deps.log.lines, 'log').toContain(spec.logged);
    expect(
      wranglerCalls(deps.run.calls).filter((line) => line.startsWith('deploy ')),
      'one wrangler deploy',
    ).toHaveLength(1);
    expect(deps.fetch.calls, 'no Durable Object, no config: no Cloudflare API call').toEqual([]);
    expect(readdirSync(project.runnerTemp), 'temporary files left behind').toEqual([]);
  });

  it('passes message, tag, vars, rollout and a 0600 secrets file, masks the secrets, and removes the file', async () => {
    let secretsFile = '';
    const deps = scriptedDeps(
      [
        ...liveVersions(OURS, NEW),
        {
          match: / deploy /,
          result: (call) => {
            secretsFile = call.args[call.args.indexOf('--secrets-file') + 1]!;
            expect(statSync(secretsFile).mode & 0o777, 'secrets file mode').toBe(0o600);
            expect(JSON.parse(readFileSync(secretsFile, 'utf8'))).toEqual({ API_KEY: 's3cr3t' });
            return answer({ entries: [deployed(NEW)] })(call);
          },
        },
      ],
      project.runnerTemp,
    );
    const result = await deploy(
      options({
        message: undefined,
        commit: { subject: 'Tighten the probe\n\nbody', sha: 'a1b2c3d4e5f6' },
        tag: 'v7',
        vars: [['MESSAGE', 'v2']],
        secrets: [['API_KEY', 's3cr3t']],
        containersRollout: 'gradual',
      }),
      deps,
    );
    expect(result.failure).toBeUndefined();
    expect(wranglerCalls(deps.run.calls)).toContain(
      `deploy --message=Tighten the probe (a1b2c3d) --tag=v7 --var=MESSAGE:v2 --containers-rollout gradual --secrets-file ${secretsFile}`,
    );
    expect(deps.log.secrets).toEqual(expect.arrayContaining(['test-token', 's3cr3t']));
    expect(readdirSync(project.runnerTemp), 'the secrets file is left behind').toEqual([]);
  });

  it.each([
    {
      name: 'dry run: bundled, nothing sent, production not read',
      wrangler: {} as WranglerAnswer,
      failure: undefined,
      row: 'Bundled and built; nothing was sent to Cloudflare.',
      title: 'dry run ✅',
    },
    {
      name: 'dry run that fails: a failure and a summary, not a throw',
      wrangler: { code: 1, entries: [failed(10021, 'Build failed with 1 error')] },
      failure: 'wrangler deploy --dry-run failed: Build failed with 1 error',
      row: '| Error | wrangler deploy --dry-run failed: Build failed with 1 error |',
      title: 'dry run ❌',
    },
  ])('$name', async (spec) => {
    const deps = scriptedDeps([{ match: / deploy /, result: answer(spec.wrangler) }], project.runnerTemp);
    const result = await deploy(options({ dryRun: true, apiToken: '', accountId: '' }), deps);
    expect(result.outputs).toEqual({
      versionId: '',
      previousVersionId: '',
      deploymentUrl: '',
      workerName: '',
      deployed: false,
      liveVersionId: '',
      productionChanged: false,
      previousState: '',
      deployedState: '',
      reversible: true,
    });
    expect(result.failure).toBe(spec.failure);
    expect(result.summary.split('\n')[0]).toBe(`### deploy: ${spec.title}`);
    expect(result.summary.split('\n')).toContain(spec.row);
    const calls = wranglerCalls(deps.run.calls);
    expect(calls, 'only the dry run: no deployments status').toHaveLength(1);
    expect(calls[0]).toMatch(/^deploy --message=ship it --dry-run --outdir \S+\/bundle$/);
    expect(readdirSync(project.runnerTemp), 'temporary files left behind').toEqual([]);
  });

  it('a token that may not read container applications: a warning, and the Worker deploys (its images are not recorded)', async () => {
    const rules: Rule[] = [
      ...liveVersions(OURS, NEW),
      versionsView({ [OURS]: NAMESPACE, [NEW]: NAMESPACE }),
      { match: / deploy /, result: answer({ entries: [deployed(NEW)] }) },
    ];
    const forbidden = {
      match: /^GET \S+\/containers\/applications$/,
      result: {
        status: 403,
        body: { success: false, errors: [{ code: 10000, message: 'Authentication error' }] },
      },
    };
    const deps = scriptedDeps(rules, project.runnerTemp, [forbidden]);
    const result = await deploy(options(), deps);
    expect(result.failure, deps.log.lines.join('\n')).toBeUndefined();
    expect(result.outputs.deployed).toBe(true);
    expect(JSON.parse(result.outputs.previousState).applications).toEqual([]);
    expect(deps.log.lines).toContain(
      'warning: Cloudflare API GET containers/applications failed (HTTP 403, code 10000): Authentication error: container images are not recorded, so a rollback restores the Worker only.',
    );
  });

  describe('with a container application bound to the Worker', () => {
    const recordedApp = (image: string, rollout: { id: string; status: string; image: string }) => ({
      id: APP_ID,
      name: 'app',
      image,
      instance_type: 'basic',
      rollout,
    });

    it.each([
      {
        name: 'the rollout completes after some polls: each progress line logged, deployed',
        frames: COMPLETES,
        failure: undefined,
        deployed: true,
        title: '`slipway-fixture` ✅ live',
        outcome: 'completed',
        slept: [1000, 1000],
        logged: [
          'app: 0 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, progressing)',
          'app: 1 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, progressing)',
          'app: 2 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, completed)',
        ],
      },
      {
        name: 'the rollout says completed while an instance still runs the old image: waited for until the instance view agrees',
        frames: COMPLETES,
        staleReads: 2,
        failure: undefined,
        deployed: true,
        title: '`slipway-fixture` ✅ live',
        outcome: 'completed',
        slept: [1000, 1000, 1000, 1000],
        logged: [
          'app: 0 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, progressing)',
          'app: 1 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, progressing)',
          'app: rollout rollout-2 is completed, but instances aaaaaaaaaaaa on slipway-000000000000 do not run slipway-bbbbbbbbbbbb yet',
          'app: 2 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, completed)',
        ],
      },
      {
        name: 'the instance view never agrees: a failure naming the instance',
        frames: COMPLETES,
        staleReads: 99,
        failure: `The container rollout did not complete: app: rollout rollout-2 is completed, but instances aaaaaaaaaaaa on slipway-000000000000 do not run slipway-bbbbbbbbbbbb yet after 5 s. The new Worker version is live: roll back.`,
        deployed: false,
        title: '`slipway-fixture` ❌ not deployed',
        outcome: 'failed',
        slept: [1000, 1000, 1000, 1000, 1000],
        logged: [
          'app: 0 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, progressing)',
          'app: 1 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, progressing)',
          'app: rollout rollout-2 is completed, but instances aaaaaaaaaaaa on slipway-000000000000 do not run slipway-bbbbbbbbbbbb yet',
        ],
      },
      {
        name: 'the rollout is stuck: a failure naming the stuck step, production changed',
        frames: STUCK,
        failure: `The container rollout did not complete: rollout rollout-2 of app to ${NEW_IMAGE} is stuck at step 1 of 1 (progressing: ${STUCK_REASON}) after 5 s, 2 of 2 instances still on the old image. The new Worker version is live: roll back.`,
        deployed: false,
        title: '`slipway-fixture` ❌ not deployed',
        outcome: 'failed',
        slept: [1000, 1000, 1000, 1000, 1000],
        logged: ['app: 0 of 2 instances on slipway-bbbbbbbbbbbb, 0 failed (step 1 of 1, progressing)'],
      },
    ])('$name', async (spec) => {
      const model = cloudflareModel(
        [
          modelApp(OLD_IMAGE, [
            modelRollout('rollout-1', OLD_IMAGE, OLD_IMAGE, [{ status: 'completed', updated: 2, total: 2 }]),
          ]),
        ],
        { staleReads: spec.staleReads },
      );
      const rules: Rule[] = [
        ...liveVersions(OURS, NEW),
        versionsView({ [OURS]: NAMESPACE, [NEW]: NAMESPACE }),
        {
          match: / deploy /,
          result: (call) => {
            // wrangler deploy modifies the application and starts a rollout it does not wait for.
            const app = model.apps[0]!;
            app.image = NEW_IMAGE;
            app.rollouts.unshift(modelRollout('rollout-2', OLD_IMAGE, NEW_IMAGE, spec.frames));
            return answer({ entries: [deployed(NEW)] })(call);
          },
        },
      ];
      const deps = scriptedDeps(rules, project.runnerTemp, model.rules);
      const result = await deploy(options({ rolloutTimeoutMs: 5000 }), deps);
      const context = `summary:\n${result.summary}\nlog:\n${deps.log.lines.join('\n')}`;
      expect(result.failure, context).toBe(spec.failure);
      const { previousState, deployedState, ...outputs } = result.outputs;
      expect(outputs, context).toEqual({
        versionId: NEW,
        previousVersionId: OURS,
        deploymentUrl: URL,
        workerName: 'slipway-fixture',
        deployed: spec.deployed,
        liveVersionId: NEW,
        productionChanged: true,
        reversible: true,
      });
      expect(JSON.parse(previousState), 'previous-state').toEqual({
        versions: [{ version_id: OURS, percentage: 100 }],
        applications: [recordedApp(OLD_IMAGE, { id: 'rollout-1', status: 'completed', image: OLD_IMAGE })],
      });
      expect(JSON.parse(deployedState), 'deployed-state').toEqual({
        versions: [{ version_id: NEW, percentage: 100 }],
        applications: [recordedApp(NEW_IMAGE, { id: 'rollout-2', status: 'progressing', image: NEW_IMAGE })],
      });
      const lines = result.summary.split('\n');
      expect(lines[0]).toBe(`### deploy: ${spec.title}`);
      expect(lines, context).toContain(`| Production | production now serves the new version ${NEW} |`);
      expect(lines, context).toContain(`| Recorded | Worker ${OURS}; app on slipway-aaaaaaaaaaaa |`);
      expect(lines, context).toContain(
        `| Image app | slipway-aaaaaaaaaaaa → slipway-bbbbbbbbbbbb (rollout rollout-2 ${spec.outcome}) |`,
      );
      if (spec.failure) expect(lines, context).toContain(`| Error | ${spec.failure} |`);
      expect(deps.log.lines, context).toContain('group: rollout of app to slipway-bbbbbbbbbbbb');
      const progress = deps.log.lines.filter((line) => line.startsWith('app: '));
      expect(progress, 'each progress line once, as it changes').toEqual(spec.logged);
      expect(deps.clock.slept, 'polled once a second').toEqual(spec.slept);
      expect(model.writes, 'deploy writes nothing through the API').toEqual([]);
      expect(deps.fetch.unanswered).toEqual([]);
      expect(readdirSync(project.runnerTemp), 'temporary files left behind').toEqual([]);
    });
  });

  describe('a deploy that applies a Durable Object migration (irreversible)', () => {
    let migrating: ReturnType<typeof fakeProject>;
    beforeAll(() => {
      migrating = fakeProject();
      writeFileSync(
        join(migrating.dir, 'wrangler.jsonc'),
        `{
  // the Worker, with a Durable Object class renamed by migration v2
  "name": "slipway-fixture",
  "main": "src/index.ts",
  "migrations": [
    { "tag": "v1", "new_sqlite_classes": ["Counter"] },
    { "tag": "v2", "renamed_classes": [{ "from": "Counter", "to": "Tally" }] },
  ],
}
`,
      );
    });
    afterAll(() => migrating.remove());

    const why =
      'it applies Durable Object migration "v2" to slipway-fixture (live: "v1"), and Cloudflare refuses to roll a Worker back across a migration';

    it.each([
      {
        name: 'refused without allow-irreversible: no wrangler deploy, production unchanged',
        live: [OURS],
        allow: false,
        liveTag: 'v1',
        deploys: 0,
        serviceReads: 1,
        failure: `Refusing to deploy: ${why}. If this is intended, re-run with allow-irreversible: true (a failure after it can then roll back container images but not the Worker). Production is unchanged.`,
        outputs: {
          ...NOTHING_SHIPPED,
          reversible: false,
        },
        warning: undefined,
      },
      {
        name: 'deployed with allow-irreversible: not reversible, a warning, the reason recorded',
        live: [OURS, NEW],
        allow: true,
        liveTag: 'v1',
        deploys: 1,
        serviceReads: 1,
        failure: undefined,
        outputs: shipped({
          reversible: false,
          previousState: JSON.stringify({
            versions: [{ version_id: OURS, percentage: 100 }],
            applications: [],
            irreversible: why,
          }),
        }),
        warning: `warning: This deploy cannot be rolled back: ${why} (allow-irreversible: true).`,
      },
      {
        name: 'the live Worker has the same migration: reversible, not refused',
        live: [OURS, NEW],
        allow: false,
        liveTag: 'v2',
        deploys: 1,
        serviceReads: 1,
        failure: undefined,
        outputs: shipped(),
        warning: undefined,
      },
      {
        name: 'a first deploy is never refused (nothing to roll back to): the live tag is not even read',
        live: ['', NEW],
        allow: false,
        liveTag: undefined,
        deploys: 1,
        serviceReads: 0,
        failure: undefined,
        outputs: shipped({ previousVersionId: '', previousState: state('') }),
        warning: undefined,
      },
    ])('$name', async (spec) => {
      const model = cloudflareModel([], { migrationTag: spec.liveTag });
      const rules: Rule[] = [
        ...liveVersions(...spec.live),
        { match: / deploy /, result: answer({ entries: [deployed(NEW)] }) },
      ];
      const deps = scriptedDeps(rules, migrating.runnerTemp, model.rules);
      const result = await deploy(
        { ...options({ allowIrreversible: spec.allow }), ...connection(migrating.dir) },
        deps,
      );
      const context = `summary:\n${result.summary}\nlog:\n${deps.log.lines.join('\n')}`;
      expect(result.failure, context).toBe(spec.failure);
      expect(result.outputs, context).toEqual(spec.outputs);
      expect(
        wranglerCalls(deps.run.calls).filter((line) => line.startsWith('deploy ')),
        'wrangler deploy runs',
      ).toHaveLength(spec.deploys);
      expect(deps.fetch.calls.map((call) => call.line)).toEqual(
        Array(spec.serviceReads).fill(
          'GET https://api.cloudflare.com/client/v4/accounts/test-account/workers/services/slipway-fixture',
        ),
      );
      const warnings = deps.log.lines.filter((line) => line.startsWith('warning: '));
      expect(warnings, context).toEqual(spec.warning ? [spec.warning] : []);
      const lines = result.summary.split('\n');
      if (!spec.outputs.reversible)
        expect(lines, context).toContain(
          '| Reversible | no: the Worker cannot be rolled back after this deploy |',
        );
      else expect(result.summary, context).not.toContain('| Reversible |');
      if (spec.failure) {
        expect(lines[0]).toBe('### deploy: `worker` ❌ not deployed');
        expect(lines, context).toContain(`| Production | production is unchanged |`);
      }
      expect(readdirSync(migrating.runnerTemp), 'temporary files left behind').toEqual([]);
    });
  });
});

describe('deploy summary: links to the Worker in the dashboard and to the image shipped', () => {
  let project: ReturnType<typeof fakeProject>;
  beforeAll(() => {
    project = fakeProject();
    // A Worker with a container: the image input points it at the image built and tested.
    writeFileSync(
      join(project.dir, 'wrangler.jsonc'),
      JSON.stringify({ name: 'slipway-fixture', containers: [{ class_name: 'App', image: './Dockerfile' }] }),
    );
  });
  afterAll(() => project.remove());

  const DASHBOARD =
    '| Dashboard | [slipway-fixture](https://dash.cloudflare.com/?to=/:account/workers/services/view/slipway-fixture/production) |';

  it.each([
    {
      name: 'a Docker Hub image: linked to its Hub page',
      image: 'docker.io/acme/gateway:v1',
      row: '| Image | [docker.io/acme/gateway](https://hub.docker.com/r/acme/gateway) |',
    },
    {
      name: 'an image in a local registry: named, no link',
      image: '127.0.0.1:5000/gateway:1',
      row: '| Image | `127.0.0.1:5000/gateway` |',
    },
    { name: 'no image input: no Image row', image: undefined, row: undefined },
  ])('$name', async ({ image, row }) => {
    const deps = scriptedDeps(
      [...liveVersions(OURS, NEW), { match: / deploy /, result: answer({ entries: [deployed(NEW)] }) }],
      project.runnerTemp,
    );
    const result = await deploy(
      {
        ...connection(project.dir),
        message: 'ship it',
        image,
        secrets: [],
        vars: [],
        dryRun: false,
        rolloutTimeoutMs: 600_000,
        allowIrreversible: false,
      },
      deps,
    );
    const lines = result.summary.split('\n');
    expect(result.failure, result.summary).toBeUndefined();
    expect(lines, result.summary).toContain(DASHBOARD);
    if (row) expect(lines, result.summary).toContain(row);
    else expect(result.summary).not.toContain('| Image |');
    expect(readdirSync(project.runnerTemp), 'temporary files left behind').toEqual([]);
  });

  it('a deploy that reports no Worker name has no dashboard link', async () => {
    const deps = scriptedDeps(
      [...liveVersions(OURS, OURS), { match: / deploy /, result: answer(apiFailure('down')) }],
      project.runnerTemp,
    );
    const result = await deploy(
      {
        ...connection(project.dir),
        message: 'ship it',
        secrets: [],
        vars: [],
        dryRun: false,
        rolloutTimeoutMs: 600_000,
        allowIrreversible: false,
      },
      deps,
    );
    expect(result.outputs.workerName).toBe('');
    expect(result.summary).not.toContain('dash.cloudflare.com');
  });
});

describe('refuseForeignPlatform: Cloudflare Containers run linux/amd64 only', () => {
  it.each([
    ['linux/amd64', undefined],
    ['', undefined],
    ['linux/arm64', 'built for linux/arm64: Cloudflare Containers run linux/amd64 only'],
    ['linux/arm', 'built for linux/arm: Cloudflare Containers run linux/amd64 only'],
    ['windows/amd64', 'built for windows/amd64: Cloudflare Containers run linux/amd64 only'],
  ])('%j → %s', (platform, message) => {
    const refuse = () => refuseForeignPlatform('app:1', platform);
    if (message) expect(refuse).toThrow(message);
    else expect(refuse).not.toThrow();
  });
});

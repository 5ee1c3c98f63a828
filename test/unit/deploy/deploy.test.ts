import { readdirSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, type DeployOptions, type DeployOutputs } from '../../../src/lib/deploy/deploy.js';
import type { Rule } from '../../harness/fakes.js';
import {
  answer,
  apiFailure,
  connection,
  failed,
  fakeProject,
  liveVersions,
  NEW,
  OURS,
  scriptedDeps,
  THEIRS,
  UNREADABLE,
  wranglerCalls,
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

interface Case {
  name: string;
  /** The live version before the deploy, then after it. */
  live: string[];
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
    logged: `Live before deploying: ${OURS}.`,
  },
  {
    name: 'a first deploy: no previous version',
    live: ['', NEW],
    wrangler: { entries: [deployed(NEW)] },
    outputs: shipped({ previousVersionId: '' }),
    title: '`slipway-fixture` ✅ live',
    production: `production now serves the new version ${NEW}`,
    row: '| Previous | `(first deploy)` |',
    logged: 'No live version: this is the first deploy.',
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
    outputs: shipped({ deployed: false, liveVersionId: THEIRS }),
    failure: `wrangler deploy failed: Deployed slipway-fixture triggers; production serves ${THEIRS}, neither the previous ${OURS} nor a version of this deploy.`,
    title: '`slipway-fixture` ❌ not deployed',
    production: `production serves ${THEIRS}, neither the previous ${OURS} nor a version of this deploy`,
  },
  {
    name: 'the read-back after the deploy fails: production is said to serve nothing, no throw',
    live: [OURS, UNREADABLE],
    wrangler: { entries: [deployed(NEW)] },
    outputs: shipped({ deployed: false, liveVersionId: '', productionChanged: false }),
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
      `deploy --message Tighten the probe (a1b2c3d) --tag v7 --var MESSAGE:v2 --containers-rollout gradual --secrets-file ${secretsFile}`,
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
    });
    expect(result.failure).toBe(spec.failure);
    expect(result.summary.split('\n')[0]).toBe(`### deploy: ${spec.title}`);
    expect(result.summary.split('\n')).toContain(spec.row);
    const calls = wranglerCalls(deps.run.calls);
    expect(calls, 'only the dry run: no deployments status').toHaveLength(1);
    expect(calls[0]).toMatch(/^deploy --message ship it --dry-run --outdir \S+\/bundle$/);
    expect(readdirSync(project.runnerTemp), 'temporary files left behind').toEqual([]);
  });
});

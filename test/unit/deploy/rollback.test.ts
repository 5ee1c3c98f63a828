import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/lib/core/errors.js';
import { rollback, type RollbackOutputs } from '../../../src/lib/deploy/rollback.js';
import type { Rule } from '../../harness/fakes.js';
import {
  answer,
  apiFailure,
  connection,
  fakeProject,
  GOOD,
  liveVersions,
  OURS,
  scriptedDeps,
  THEIRS,
  wranglerCalls,
  type WranglerAnswer,
} from './wrangler-script.js';

interface Case {
  name: string;
  toVersion?: string;
  expectedLive?: string;
  reason?: string;
  force?: boolean;
  /** The live version before the rollback, then after each later read. */
  live: string[];
  /** What `wrangler rollback` answers; undefined: it must not be run. */
  wrangler?: WranglerAnswer;
  outputs: RollbackOutputs;
  forced?: boolean;
  failure?: string;
  title: string;
  /** A row of the summary's table, exactly. */
  row: string;
  /** A log line (warnings prefixed "warning: "). */
  logged?: string;
}

const refusal = `production serves ${THEIRS}, which is neither expected-live ${OURS} nor to-version ${GOOD}: someone else deployed since`;
const apiDown = apiFailure('deployment service down');
const apiDownSaid = 'A request to the Cloudflare API (/deployments) failed. deployment service down';

const cases: Case[] = [
  {
    name: 'nothing recorded: fails, production untouched',
    toVersion: '',
    live: [OURS],
    outputs: { rolledBack: false, fromVersion: OURS, toVersion: '' },
    failure: `Nothing to roll back to: no previous version was recorded (a first deploy has none); production serves ${OURS}. Deploy a fixed version, or pass to-version with an id from \`wrangler versions list\`.`,
    title: '❌ nothing to roll back to',
    row: '| To | `(none recorded)` |',
  },
  {
    name: 'already live: a no-op',
    live: [GOOD],
    outputs: { rolledBack: false, fromVersion: GOOD, toVersion: GOOD },
    title: '✅ already live, nothing done',
    row: `| From | \`${GOOD}\` |`,
    logged: `${GOOD} is already live: nothing to roll back.`,
  },
  {
    name: 'nothing live (the Worker does not exist): fails',
    live: [''],
    outputs: { rolledBack: false, fromVersion: '', toVersion: GOOD },
    failure: `Cannot roll back: the Worker has no live deployment (not deployed yet, or deleted), so ${GOOD} cannot be restored by a rollback. Deploy instead.`,
    title: '❌ nothing is live',
    row: '| From | `(nothing live)` |',
  },
  {
    name: 'someone else deployed since, without force: refused',
    live: [THEIRS],
    outputs: { rolledBack: false, fromVersion: THEIRS, toVersion: GOOD },
    failure: `Refusing to roll back: ${refusal}. Re-run with force: true to replace it anyway.`,
    title: '⛔ refused',
    row: `| Error | Refusing to roll back: ${refusal}. Re-run with force: true to replace it anyway. |`,
  },
  {
    name: 'someone else deployed since, with force: rolled back, with a warning',
    force: true,
    live: [THEIRS, GOOD],
    wrangler: {},
    outputs: { rolledBack: true, fromVersion: THEIRS, toVersion: GOOD },
    title: `✅ ${GOOD} is live again`,
    row: `| Production | serves ${GOOD} |`,
    logged: `warning: force: true: rolling back although ${refusal}.`,
  },
  {
    name: 'expected-live not given: rolls back from whatever is live, the default reason',
    expectedLive: '',
    reason: '  ',
    live: [OURS, GOOD],
    wrangler: {},
    outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
    title: `✅ ${GOOD} is live again`,
    row: `| Reason | Rollback by Slipway from ${OURS} |`,
    logged: `expected-live not given: rolling back from whatever is live (${OURS}).`,
  },
  {
    name: 'the expected version is live: rolled back and verified',
    live: [OURS, GOOD],
    wrangler: {},
    outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
    title: `✅ ${GOOD} is live again`,
    row: '| Reason | smoke test failed \\| status unhealthy |',
    logged: `Rolling back ${OURS} → ${GOOD}: smoke test failed | status unhealthy`,
  },
  {
    name: 'secrets changed since the good version (10220): wrangler forces it, and the summary says so',
    live: [OURS, GOOD],
    wrangler: { stdout: 'The following secrets have changed:\n  - API_KEY\nForcing rollback.\n' },
    outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
    forced: true,
    title: `✅ ${GOOD} is live again`,
    row: '| Forced | secrets changed since that version (10220) |',
    logged: `warning: Secrets changed since ${GOOD} was deployed (code 10220): wrangler forced the rollback; ${GOOD} runs with the secrets it was deployed with.`,
  },
  {
    name: 'wrangler rollback fails and production is unchanged',
    live: [OURS, OURS],
    wrangler: apiDown,
    outputs: { rolledBack: false, fromVersion: OURS, toVersion: GOOD },
    failure: `wrangler rollback failed (code 10013): ${apiDownSaid}; production is unchanged (still ${OURS}).`,
    title: '❌ failed',
    row: `| Production | production is unchanged (still ${OURS}) |`,
  },
  {
    name: 'wrangler rollback fails and production serves something else',
    live: [OURS, THEIRS],
    wrangler: apiDown,
    outputs: { rolledBack: false, fromVersion: OURS, toVersion: GOOD },
    failure: `wrangler rollback failed (code 10013): ${apiDownSaid}; production serves ${THEIRS}.`,
    title: '❌ failed',
    row: `| Production | production serves ${THEIRS} |`,
  },
  {
    name: 'wrangler rollback exits non-zero, yet the good version serves: rolled back, and still a failure',
    live: [OURS, GOOD],
    wrangler: { code: 1, stderr: 'Error: socket hang up\n' },
    outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
    failure: `wrangler rollback failed: Error: socket hang up; production serves ${GOOD} all the same.`,
    title: '❌ failed',
    row: `| Production | production serves ${GOOD} all the same |`,
  },
];

describe('rollback', () => {
  let project: ReturnType<typeof fakeProject>;
  beforeAll(() => {
    project = fakeProject();
  });
  afterAll(() => project.remove());

  it.each(cases)('$name', async (spec) => {
    const rules: Rule[] = [
      ...liveVersions(...spec.live),
      ...(spec.wrangler ? [{ match: / rollback /, result: answer(spec.wrangler) }] : []),
    ];
    const deps = scriptedDeps(rules, project.runnerTemp);
    const toVersion = spec.toVersion ?? GOOD;
    const result = await rollback(
      {
        ...connection(project.dir),
        toVersion,
        expectedLive: spec.expectedLive ?? OURS,
        reason: spec.reason ?? 'smoke test failed | status unhealthy',
        force: spec.force ?? false,
      },
      deps,
    );
    const context = `summary:\n${result.summary}\nlog:\n${deps.log.lines.join('\n')}`;
    expect(result.outputs, context).toEqual(spec.outputs);
    expect(result.failure, context).toBe(spec.failure);
    expect(result.forced, 'forced').toBe(spec.forced ?? false);
    expect(result.summary.split('\n')[0]).toBe(`### rollback: ${spec.title}`);
    expect(result.summary.split('\n'), context).toContain(spec.row);
    if (spec.failure)
      expect(result.summary, context).toContain(`| Error | ${spec.failure.replace(/\|/g, '\\|')} |`);
    else expect(result.summary, context).not.toContain('| Error |');
    if (spec.logged) expect(deps.log.lines, 'log').toContain(spec.logged);

    const rollbacks = wranglerCalls(deps.run.calls).filter((line) => line.startsWith('rollback '));
    if (spec.wrangler) expect(rollbacks, 'one rollback to the named version').toHaveLength(1);
    else expect(rollbacks, 'no wrangler rollback may run').toEqual([]);
    for (const line of rollbacks)
      expect(line).toMatch(new RegExp(`^rollback ${toVersion} --message .+ --yes$`));
    expect(readdirSync(project.runnerTemp), 'temporary files left behind').toEqual([]);
  });

  it.each([
    ['to-version', { toVersion: 'latest' }],
    ['expected-live', { expectedLive: 'v2' }],
  ])('a %s that is no version id: one clear line, no wrangler run', async (input, bad) => {
    const deps = scriptedDeps([], project.runnerTemp);
    const run = rollback(
      { ...connection(project.dir), toVersion: GOOD, expectedLive: OURS, reason: '', force: false, ...bad },
      deps,
    );
    await expect(run).rejects.toThrow(UserError);
    await expect(run).rejects.toThrow(
      `Input "${input}" is "${Object.values(bad)[0]}": give a Worker version id`,
    );
    expect(deps.run.calls).toEqual([]);
  });

  it('the token is masked and reaches wrangler through its environment only', async () => {
    const deps = scriptedDeps(
      [...liveVersions(OURS, GOOD), { match: / rollback /, result: answer({}) }],
      project.runnerTemp,
    );
    await rollback(
      { ...connection(project.dir), toVersion: GOOD, expectedLive: OURS, reason: 'r', force: false },
      deps,
    );
    expect(deps.log.secrets).toContain('test-token');
    for (const call of deps.run.calls) {
      expect(call.line).not.toContain('test-token');
      expect(call.options.env).toMatchObject({
        CLOUDFLARE_API_TOKEN: 'test-token',
        CLOUDFLARE_ACCOUNT_ID: 'test-account',
      });
    }
  });
});

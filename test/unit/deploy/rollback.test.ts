import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/lib/core/errors.js';
import { rollback, type RollbackOutputs } from '../../../src/lib/deploy/rollback.js';
import type { Rule } from '../../harness/fakes.js';
import type { ImageRollback } from '../../../src/lib/deploy/rollback-images.js';
import type { VersionShare } from '../../../src/lib/wrangler/output.js';
import {
  answer,
  apiFailure,
  APP_ID,
  cloudflareModel,
  COMPLETES,
  connection,
  fakeProject,
  GOOD,
  liveVersions,
  modelApp,
  modelRollout,
  NEW,
  NEW_IMAGE,
  OLD_IMAGE,
  OTHER_IMAGE,
  OURS,
  scriptedDeps,
  STUCK,
  STUCK_REASON,
  THEIRS,
  wranglerCalls,
  type Live,
  type ModelApp,
  type RolloutFrame,
  type WranglerAnswer,
} from './wrangler-script.js';

/** An image as the summary names it: its tag. */
const tag = (image: string) => image.slice(image.lastIndexOf(':') + 1);

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

const refusal = `production serves ${THEIRS}, which is neither what this run deployed (${OURS}) nor the recorded ${GOOD}: someone else deployed since`;
const apiDown = apiFailure('deployment service down');
const apiDownSaid = 'A request to the Cloudflare API (/deployments) failed. deployment service down';

const cases: Case[] = [
  {
    name: 'nothing recorded: fails, production untouched',
    toVersion: '',
    live: [OURS],
    outputs: { rolledBack: false, fromVersion: OURS, toVersion: '', images: '[]' },
    failure: `Nothing to roll back to: no previous version was recorded (a first deploy has none); production serves ${OURS}. Deploy a fixed version, or pass to-version with an id from \`wrangler versions list\`.`,
    title: '❌ nothing to roll back to',
    row: '| To | `(none recorded)` |',
  },
  {
    name: 'already live: a no-op',
    live: [GOOD],
    outputs: { rolledBack: false, fromVersion: GOOD, toVersion: GOOD, images: '[]' },
    title: '✅ already live, nothing done',
    row: `| From | \`${GOOD}\` |`,
    logged: `${GOOD} is already live: nothing to roll back.`,
  },
  {
    name: 'nothing live (the Worker does not exist): fails',
    live: [''],
    outputs: { rolledBack: false, fromVersion: '', toVersion: GOOD, images: '[]' },
    failure: `Cannot roll back: the Worker has no live deployment (not deployed yet, or deleted), so ${GOOD} cannot be restored by a rollback. Deploy instead.`,
    title: '❌ nothing is live',
    row: '| From | `(nothing live)` |',
  },
  {
    name: 'someone else deployed since, without force: refused',
    live: [THEIRS],
    outputs: { rolledBack: false, fromVersion: THEIRS, toVersion: GOOD, images: '[]' },
    failure: `Refusing to roll back: ${refusal}. Re-run with force: true to replace it anyway.`,
    title: '⛔ refused',
    row: `| Error | Refusing to roll back: ${refusal}. Re-run with force: true to replace it anyway. |`,
  },
  {
    name: 'someone else deployed since, with force: rolled back, with a warning',
    force: true,
    live: [THEIRS, GOOD],
    wrangler: {},
    outputs: { rolledBack: true, fromVersion: THEIRS, toVersion: GOOD, images: '[]' },
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
    outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD, images: '[]' },
    title: `✅ ${GOOD} is live again`,
    row: `| Reason | Rollback by Slipway from ${OURS} |`,
    logged: `expected-live not given: rolling back from whatever is live (${OURS}).`,
  },
  {
    name: 'the expected version is live: rolled back and verified',
    live: [OURS, GOOD],
    wrangler: {},
    outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD, images: '[]' },
    title: `✅ ${GOOD} is live again`,
    row: '| Reason | smoke test failed \\| status unhealthy |',
    logged: `Rolling back ${OURS} → ${GOOD}: smoke test failed | status unhealthy`,
  },
  {
    name: 'secrets changed since the good version (10220): wrangler forces it, and the summary says so',
    live: [OURS, GOOD],
    wrangler: { stdout: 'The following secrets have changed:\n  - API_KEY\nForcing rollback.\n' },
    outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD, images: '[]' },
    forced: true,
    title: `✅ ${GOOD} is live again`,
    row: '| Forced | secrets changed since that version (10220) |',
    logged: `warning: Secrets changed since ${GOOD} was deployed (code 10220): wrangler forced the rollback; ${GOOD} runs with the secrets it was deployed with.`,
  },
  {
    name: 'wrangler rollback fails and production is unchanged',
    live: [OURS, OURS],
    wrangler: apiDown,
    outputs: { rolledBack: false, fromVersion: OURS, toVersion: GOOD, images: '[]' },
    failure: `wrangler rollback failed (code 10013): ${apiDownSaid}; production is unchanged (still ${OURS}).`,
    title: '❌ failed',
    row: `| Production | production is unchanged (still ${OURS}) |`,
  },
  {
    name: 'wrangler rollback fails and production serves something else',
    live: [OURS, THEIRS],
    wrangler: apiDown,
    outputs: { rolledBack: false, fromVersion: OURS, toVersion: GOOD, images: '[]' },
    failure: `wrangler rollback failed (code 10013): ${apiDownSaid}; production serves ${THEIRS}.`,
    title: '❌ failed',
    row: `| Production | production serves ${THEIRS} |`,
  },
  {
    name: 'wrangler rollback exits non-zero, yet the good version serves: rolled back, and still a failure',
    live: [OURS, GOOD],
    wrangler: { code: 1, stderr: 'Error: socket hang up\n' },
    outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD, images: '[]' },
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
      expect(line).toMatch(new RegExp(`^rollback ${toVersion} --message=.+ --yes$`));
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

  describe('from previous-state and deployed-state: the whole deployment and the container images', () => {
    const at = (version_id: string, percentage: number): VersionShare => ({ version_id, percentage });
    const PREVIOUS_APP = {
      id: APP_ID,
      name: 'app',
      image: OLD_IMAGE,
      instance_type: 'basic',
      rollout: { id: 'rollout-1', status: 'completed', image: OLD_IMAGE },
    };
    const DEPLOYED_APP = {
      ...PREVIOUS_APP,
      image: NEW_IMAGE,
      rollout: { id: 'rollout-2', status: 'progressing', image: NEW_IMAGE },
    };
    const stateJson = (versions: VersionShare[], applications: object[], irreversible?: string) =>
      JSON.stringify({ versions, applications, ...(irreversible ? { irreversible } : {}) });
    const PREVIOUS = stateJson([at(GOOD, 100)], [PREVIOUS_APP]);
    const DEPLOYED = stateJson([at(OURS, 100)], [DEPLOYED_APP]);

    const FIRST = modelRollout('rollout-1', OLD_IMAGE, OLD_IMAGE, [
      { status: 'completed', updated: 2, total: 2 },
    ]);
    /** The application as this run's deploy left it: the rollout to the new image in flight, or done. */
    const inFlight = () =>
      modelApp(NEW_IMAGE, [
        modelRollout('rollout-2', OLD_IMAGE, NEW_IMAGE, [{ status: 'progressing', updated: 1, total: 2 }]),
        { ...FIRST },
      ]);
    const rolledOut = () =>
      modelApp(NEW_IMAGE, [
        modelRollout('rollout-2', OLD_IMAGE, NEW_IMAGE, [{ status: 'completed', updated: 2, total: 2 }]),
        { ...FIRST },
      ]);
    const onRecorded = () => modelApp(OLD_IMAGE, [{ ...FIRST }]);
    /** Someone else rolled the application out to another image since. */
    const changedByOthers = () =>
      modelApp(OTHER_IMAGE, [
        modelRollout('rollout-3', NEW_IMAGE, OTHER_IMAGE, [{ status: 'completed', updated: 2, total: 2 }]),
      ]);

    const ROLLBACK = `rollback ${GOOD} --message=smoke failed --yes`;
    const REVERT = `POST containers/applications/${APP_ID}/rollouts/rollout-2 {"action":"revert"}`;
    const NEW_ROLLOUT = `POST containers/applications/${APP_ID}/rollouts ${JSON.stringify({
      description: 'Slipway rollback: smoke failed',
      strategy: 'rolling',
      kind: 'full_auto',
      step_percentage: 100,
      target_configuration: { image: OLD_IMAGE, instance_type: 'basic' },
    })}`;
    const image = (from: string, action: ImageRollback['action'], extra: Partial<ImageRollback> = {}) => ({
      application: 'app',
      from,
      to: OLD_IMAGE,
      action,
      ok: true,
      ...extra,
    });
    const someoneElse = `production serves ${THEIRS}, which is neither what this run deployed (${OURS}) nor the recorded ${GOOD}: someone else deployed since`;
    const imageChanged = `container application app runs ${OTHER_IMAGE}, which is neither the recorded ${OLD_IMAGE} nor the ${NEW_IMAGE} this deploy left: someone else changed it since`;
    const stuck = `rollout rollout-10 of app to ${OLD_IMAGE} is stuck at step 1 of 1 (progressing: ${STUCK_REASON}) after 3 s, 2 of 2 instances still on the old image`;
    const why = 'it applies Durable Object migration "v2" to slipway-fixture (live: "v1")';

    interface StateCase {
      name: string;
      previous: string;
      deployed?: string;
      force?: boolean;
      /** The live deployment before the rollback, then after each later read. */
      live: Live[];
      app: () => ModelApp;
      /** How a rollout the rollback starts goes (COMPLETES unless told). */
      newRollout?: RolloutFrame[];
      /** What `wrangler rollback` or `versions deploy` answers (success unless told). */
      wrangler?: WranglerAnswer;
      /** The wrangler commands that change production, exactly. */
      commands: string[];
      /** The Containers API writes, exactly. */
      writes: string[];
      outputs: { rolledBack: boolean; fromVersion: string; toVersion: string };
      images: object[];
      forced?: boolean;
      failure?: string;
      title: string;
      rows: string[];
      logged?: string[];
      /** The application's image afterwards. */
      imageAfter: string;
    }

    const cases: StateCase[] = [
      {
        name: 'nothing recorded (a first deploy): fails, no API call',
        previous: stateJson([], []),
        deployed: DEPLOYED,
        live: [OURS],
        app: inFlight,
        commands: [],
        writes: [],
        outputs: { rolledBack: false, fromVersion: OURS, toVersion: '' },
        images: [],
        failure: `Nothing to roll back to: no previous version was recorded (a first deploy has none); production serves ${OURS}. Deploy a fixed version, or pass to-version with an id from \`wrangler versions list\`.`,
        title: '❌ nothing to roll back to',
        rows: ['| To | `(none recorded)` |'],
        imageAfter: NEW_IMAGE,
      },
      {
        name: 'already live, the deployment and the images: a no-op',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [GOOD],
        app: onRecorded,
        commands: [],
        writes: [],
        outputs: { rolledBack: false, fromVersion: GOOD, toVersion: GOOD },
        images: [image(OLD_IMAGE, 'none')],
        title: '✅ already live, nothing done',
        rows: [`| Image app | already on ${tag(OLD_IMAGE)}: nothing done |`],
        logged: [
          `${GOOD} is already live: nothing to roll back.`,
          'app already runs slipway-aaaaaaaaaaaa: no rollout.',
        ],
        imageAfter: OLD_IMAGE,
      },
      {
        name: 'nothing live (the Worker does not exist): fails, images untouched',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [''],
        app: inFlight,
        commands: [],
        writes: [],
        outputs: { rolledBack: false, fromVersion: '', toVersion: GOOD },
        images: [],
        failure: `Cannot roll back: the Worker has no live deployment (not deployed yet, or deleted), so ${GOOD} cannot be restored by a rollback. Deploy instead.`,
        title: '❌ nothing is live',
        rows: ['| From | `(nothing live)` |'],
        imageAfter: NEW_IMAGE,
      },
      {
        name: 'someone else deployed the Worker, without force: refused, images untouched',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [THEIRS],
        app: inFlight,
        commands: [],
        writes: [],
        outputs: { rolledBack: false, fromVersion: THEIRS, toVersion: GOOD },
        images: [],
        failure: `Refusing to roll back: ${someoneElse}. Re-run with force: true to replace it anyway.`,
        title: '⛔ refused',
        rows: [],
        imageAfter: NEW_IMAGE,
      },
      {
        name: 'someone else deployed the Worker, with force: the Worker and the image rolled back, a warning',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        force: true,
        live: [THEIRS, GOOD],
        app: rolledOut,
        commands: [ROLLBACK],
        writes: [NEW_ROLLOUT],
        outputs: { rolledBack: true, fromVersion: THEIRS, toVersion: GOOD },
        images: [image(NEW_IMAGE, 'rollout', { rollout: 'rollout-10' })],
        title: `✅ ${GOOD} is live again`,
        rows: [`| Production | serves ${GOOD} |`],
        logged: [`warning: force: true: rolling back although ${someoneElse}.`],
        imageAfter: OLD_IMAGE,
      },
      {
        name: "someone else changed the application's image, without force: refused, no wrangler run, no API write",
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [OURS],
        app: changedByOthers,
        commands: [],
        writes: [],
        outputs: { rolledBack: false, fromVersion: OURS, toVersion: GOOD },
        images: [],
        failure: `Refusing to roll back: ${imageChanged}. Re-run with force: true to replace it anyway.`,
        title: '⛔ refused',
        rows: [],
        imageAfter: OTHER_IMAGE,
      },
      {
        name: "someone else changed the application's image, with force: rolled out to the recorded image, a warning",
        previous: PREVIOUS,
        deployed: DEPLOYED,
        force: true,
        live: [OURS, GOOD],
        app: changedByOthers,
        commands: [ROLLBACK],
        writes: [NEW_ROLLOUT],
        outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
        images: [image(OTHER_IMAGE, 'rollout', { rollout: 'rollout-10' })],
        title: `✅ ${GOOD} is live again`,
        rows: [`| Image app | ${tag(OTHER_IMAGE)} → ${tag(OLD_IMAGE)} (rollout rollout-10) |`],
        logged: [`warning: force: true: ${imageChanged}.`],
        imageAfter: OLD_IMAGE,
      },
      {
        name: 'a split recorded (60/40): restored with versions deploy and verified',
        previous: stateJson([at(GOOD, 60), at(NEW, 40)], []),
        deployed: stateJson([at(OURS, 100)], []),
        live: [OURS, [at(GOOD, 60), at(NEW, 40)]],
        app: onRecorded,
        commands: [`versions deploy ${GOOD}@60% ${NEW}@40% --message=smoke failed --yes`],
        writes: [],
        outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
        images: [],
        title: `✅ ${GOOD}@60%, ${NEW}@40% is live again`,
        rows: [`| To | \`${GOOD}@60%, ${NEW}@40%\` |`, `| Production | serves ${GOOD}@60%, ${NEW}@40% |`],
        logged: [`Rolling back ${OURS} → ${GOOD}@60%, ${NEW}@40%: smoke failed`],
        imageAfter: OLD_IMAGE,
      },
      {
        // The issue: "a rollback to a version that serves less than 100% is not 'already live'".
        name: 'the recorded version live at 90% only (recorded at 100%): not already live, rolled back to 100%',
        previous: stateJson([at(GOOD, 100)], []),
        deployed: stateJson([at(GOOD, 90), at(OURS, 10)], []),
        live: [[at(GOOD, 90), at(OURS, 10)], GOOD],
        app: onRecorded,
        commands: [ROLLBACK],
        writes: [],
        outputs: { rolledBack: true, fromVersion: GOOD, toVersion: GOOD },
        images: [],
        title: `✅ ${GOOD} is live again`,
        rows: [`| From | \`${GOOD}@90%, ${OURS}@10%\` |`, `| Production | serves ${GOOD} |`],
        imageAfter: OLD_IMAGE,
      },
      {
        name: 'the image rollout still in flight: reverted, ends reverted',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [OURS, GOOD],
        app: inFlight,
        commands: [ROLLBACK],
        writes: [REVERT],
        outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
        images: [image(NEW_IMAGE, 'revert', { rollout: 'rollout-2' })],
        title: `✅ ${GOOD} is live again`,
        rows: [`| Image app | ${tag(NEW_IMAGE)} → ${tag(OLD_IMAGE)} (rollout rollout-2 reverted) |`],
        logged: [
          'Reverting rollout rollout-2 of app (to slipway-bbbbbbbbbbbb): its instances go back to slipway-aaaaaaaaaaaa.',
          'app: reverting rollout rollout-2 (progressing, step 1 reverting) back to slipway-aaaaaaaaaaaa',
          'app: rollout rollout-2 reverted: its instances are back on slipway-aaaaaaaaaaaa',
        ],
        imageAfter: OLD_IMAGE,
      },
      {
        name: 'the image rollout completed: one new rollout to the recorded image, ends completed',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [OURS, GOOD],
        app: rolledOut,
        commands: [ROLLBACK],
        writes: [NEW_ROLLOUT],
        outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
        images: [image(NEW_IMAGE, 'rollout', { rollout: 'rollout-10' })],
        title: `✅ ${GOOD} is live again`,
        rows: [`| Image app | ${tag(NEW_IMAGE)} → ${tag(OLD_IMAGE)} (rollout rollout-10) |`],
        logged: [
          `Rolling app out to the recorded image ${OLD_IMAGE} (all instances in one step).`,
          'app: 0 of 2 instances on slipway-aaaaaaaaaaaa, 0 failed (step 1 of 1, progressing)',
          'app: 2 of 2 instances on slipway-aaaaaaaaaaaa, 0 failed (step 1 of 1, completed)',
        ],
        imageAfter: OLD_IMAGE,
      },
      {
        name: 'the Worker already live, the image not: only the image is rolled back, and the title says so',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [GOOD],
        app: rolledOut,
        commands: [],
        writes: [NEW_ROLLOUT],
        outputs: { rolledBack: true, fromVersion: GOOD, toVersion: GOOD },
        images: [image(NEW_IMAGE, 'rollout', { rollout: 'rollout-10' })],
        title: '✅ container images rolled back (the Worker was already live)',
        rows: [`| Image app | ${tag(NEW_IMAGE)} → ${tag(OLD_IMAGE)} (rollout rollout-10) |`],
        logged: [`${GOOD} is already live: nothing to roll back.`],
        imageAfter: OLD_IMAGE,
      },
      {
        name: 'the image rollout is stuck past rollout-timeout: a failure naming the step',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [OURS, GOOD],
        app: rolledOut,
        newRollout: STUCK,
        commands: [ROLLBACK],
        writes: [NEW_ROLLOUT],
        outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
        images: [image(NEW_IMAGE, 'rollout', { rollout: 'rollout-10', ok: false, error: stuck })],
        failure: `The image of app was not rolled back: ${stuck}.`,
        title: '❌ failed',
        rows: [
          `| Production | serves ${GOOD} |`,
          `| Image app | ${tag(NEW_IMAGE)} → ${tag(OLD_IMAGE)} (rollout rollout-10, failed: ${stuck}) |`,
        ],
        imageAfter: OLD_IMAGE,
      },
      {
        name: 'an irreversible deploy recorded: the Worker is left, the images are still rolled back',
        previous: stateJson([at(GOOD, 100)], [PREVIOUS_APP], why),
        deployed: DEPLOYED,
        live: [OURS],
        app: rolledOut,
        commands: [],
        writes: [NEW_ROLLOUT],
        outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
        images: [image(NEW_IMAGE, 'rollout', { rollout: 'rollout-10' })],
        failure: `The Worker cannot be rolled back: the deploy was irreversible (${why}); it still serves ${OURS}. Recorded container images were rolled back where they changed; deploy a fix forward.`,
        title: '⚠️ Worker cannot be rolled back',
        rows: [`| Image app | ${tag(NEW_IMAGE)} → ${tag(OLD_IMAGE)} (rollout rollout-10) |`],
        imageAfter: OLD_IMAGE,
      },
      {
        name: 'secrets changed since the good version (10220): forced, reported, and the image rolled back',
        previous: PREVIOUS,
        deployed: DEPLOYED,
        live: [OURS, GOOD],
        app: rolledOut,
        wrangler: { stdout: 'The following secrets have changed:\n  - API_KEY\nForcing rollback.\n' },
        commands: [ROLLBACK],
        writes: [NEW_ROLLOUT],
        outputs: { rolledBack: true, fromVersion: OURS, toVersion: GOOD },
        images: [image(NEW_IMAGE, 'rollout', { rollout: 'rollout-10' })],
        forced: true,
        title: `✅ ${GOOD} is live again`,
        rows: [
          '| Forced | secrets changed since that version (10220) |',
          `| Image app | ${tag(NEW_IMAGE)} → ${tag(OLD_IMAGE)} (rollout rollout-10) |`,
        ],
        logged: [
          `warning: Secrets changed since ${GOOD} was deployed (code 10220): wrangler forced the rollback; ${GOOD} runs with the secrets it was deployed with.`,
        ],
        imageAfter: OLD_IMAGE,
      },
    ];

    const run = (
      spec: Pick<StateCase, 'previous' | 'deployed' | 'force'>,
      deps: ReturnType<typeof scriptedDeps>,
    ) =>
      rollback(
        {
          ...connection(project.dir),
          toVersion: '',
          expectedLive: '',
          previousState: spec.previous,
          deployedState: spec.deployed,
          reason: 'smoke failed',
          force: spec.force ?? false,
          rolloutTimeoutMs: 3000,
        },
        deps,
      );
    const productionWrites = (deps: ReturnType<typeof scriptedDeps>) =>
      wranglerCalls(deps.run.calls).filter((line) => /^(rollback|versions deploy) /.test(line));

    it.each(cases)('$name', async (spec) => {
      const model = cloudflareModel([spec.app()], { newRollout: spec.newRollout });
      const rules: Rule[] = [
        ...liveVersions(...spec.live),
        { match: / (rollback|versions deploy) /, result: answer(spec.wrangler ?? {}) },
      ];
      const deps = scriptedDeps(rules, project.runnerTemp, model.rules);
      const result = await run(spec, deps);
      const context = `summary:\n${result.summary}\nlog:\n${deps.log.lines.join('\n')}`;
      const { images, ...outputs } = result.outputs;
      expect(outputs, context).toEqual(spec.outputs);
      expect(JSON.parse(images), context).toEqual(spec.images);
      expect(result.failure, context).toBe(spec.failure);
      expect(result.forced, 'forced').toBe(spec.forced ?? false);
      const lines = result.summary.split('\n');
      expect(lines[0], context).toBe(`### rollback: ${spec.title}`);
      for (const row of spec.rows) expect(lines, context).toContain(row);
      if (spec.failure) expect(lines, context).toContain(`| Error | ${spec.failure} |`);
      else expect(result.summary, context).not.toContain('| Error |');
      for (const line of spec.logged ?? []) expect(deps.log.lines, context).toContain(line);
      expect(productionWrites(deps), 'wrangler commands that change production').toEqual(spec.commands);
      expect(model.writes, 'Containers API writes').toEqual(spec.writes);
      expect(model.apps[0]!.image, 'the image afterwards').toBe(spec.imageAfter);
      expect(deps.fetch.unanswered).toEqual([]);
      expect(readdirSync(project.runnerTemp), 'temporary files left behind').toEqual([]);
    });

    it.each([
      ['a revert', inFlight],
      ['a new rollout', rolledOut],
    ])(
      'run twice after %s: the second run is a no-op (no wrangler rollback, no API write)',
      async (_how, app) => {
        const model = cloudflareModel([app()], { newRollout: COMPLETES });
        const spec = { previous: PREVIOUS, deployed: DEPLOYED };
        const first = scriptedDeps(
          [...liveVersions(OURS, GOOD), { match: / rollback /, result: answer({}) }],
          project.runnerTemp,
          model.rules,
        );
        expect((await run(spec, first)).failure).toBeUndefined();
        const writes = [...model.writes];
        expect(writes).toHaveLength(1);

        const second = scriptedDeps(
          [...liveVersions(GOOD), { match: / rollback /, result: answer({}) }],
          project.runnerTemp,
          model.rules,
        );
        const again = await run(spec, second);
        expect(again.failure, again.summary).toBeUndefined();
        expect(again.summary.split('\n')[0]).toBe('### rollback: ✅ already live, nothing done');
        expect(again.outputs.rolledBack).toBe(false);
        expect(JSON.parse(again.outputs.images)).toEqual([image(OLD_IMAGE, 'none')]);
        expect(productionWrites(second), 'no wrangler rollback').toEqual([]);
        expect(model.writes, 'no POST on the second run').toEqual(writes);
      },
    );
  });
});

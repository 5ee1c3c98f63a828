import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readInputs } from '../../../src/actions/deploy/inputs.js';
import { deploy, type DeployOptions } from '../../../src/lib/deploy/deploy.js';
import {
  aliasLengthProblem,
  aliasProblem,
  NO_PREVIEW_NOTE,
  parsePreviewAlias,
} from '../../../src/lib/deploy/preview.js';
import type { FetchRule, Rule } from '../../harness/fakes.js';
import {
  answer,
  connection,
  failed,
  fakeProject,
  liveVersions,
  NEW,
  OURS,
  scriptedDeps,
  THEIRS,
  wranglerCalls,
  type Live,
  type WranglerAnswer,
} from './wrangler-script.js';

describe('preview aliases, by Cloudflare\'s rules (preview-urls.mdx, "Rules and limitations")', () => {
  it.each([
    ['pr-7', undefined],
    ['staging', undefined],
    ['a', undefined],
    ['pr-7-', undefined], // the docs allow dashes anywhere after the first letter
    ['7-pr', 'an alias starts with a lowercase letter'],
    ['-pr', 'an alias starts with a lowercase letter'],
    ['Pr-7', 'an alias starts with a lowercase letter'],
    ['pr-A', 'an alias takes only lowercase letters, digits and dashes'],
    ['pr_7', 'an alias takes only lowercase letters, digits and dashes'],
    ['pr.7', 'an alias takes only lowercase letters, digits and dashes'],
    ['pr/7', 'an alias takes only lowercase letters, digits and dashes'],
    ['', 'it is empty'],
  ])('%j: %s', (alias, problem) => {
    expect(aliasProblem(alias)).toBe(problem);
  });

  it.each([
    // alias + "-" + worker, at most 63 characters (a DNS label)
    ['a'.repeat(47), 'slipway-fixture', undefined],
    [
      'a'.repeat(48),
      'slipway-fixture',
      `with the Worker's name, "${'a'.repeat(48)}-slipway-fixture" is 64 characters, over the 63 a DNS label allows`,
    ],
    ['pr-7', 'w'.repeat(58), undefined],
    [
      'pr-7',
      'w'.repeat(59),
      `with the Worker's name, "pr-7-${'w'.repeat(59)}" is 64 characters, over the 63 a DNS label allows`,
    ],
  ])('length of %s with %s', (alias, worker, problem) => {
    expect(aliasLengthProblem(alias, worker)).toBe(problem);
  });

  it.each([
    ['', undefined],
    ['  pr-7 ', 'pr-7'],
    [
      'PR-7',
      'Input "preview-alias" is "PR-7": an alias starts with a lowercase letter (Cloudflare\'s preview alias rules), such as pr-7.',
    ],
    [
      'feature/login',
      'Input "preview-alias" is "feature/login": an alias takes only lowercase letters, digits and dashes (Cloudflare\'s preview alias rules), such as pr-7.',
    ],
    [
      'a'.repeat(62),
      `Input "preview-alias" is "${'a'.repeat(62)}": it is 62 characters, and "<alias>-<worker>" must fit in the 63 a DNS label allows (Cloudflare's preview alias rules), such as pr-7.`,
    ],
  ])('the input %j', (value, expected) => {
    const read = () => parsePreviewAlias('preview-alias', value);
    if (expected === undefined || !expected.startsWith('Input')) expect(read()).toBe(expected);
    else expect(read).toThrow(expected);
  });

  it('deploy reads preview-alias; a bad one is refused at the input, in one line', () => {
    expect(readInputs((name) => (name === 'preview-alias' ? 'pr-12' : '')).previewAlias).toBe('pr-12');
    expect(readInputs(() => '').previewAlias).toBeUndefined();
    expect(() => readInputs((name) => (name === 'preview-alias' ? 'PR 12' : ''))).toThrow(
      /^Input "preview-alias" is "PR 12": an alias starts with a lowercase letter/,
    );
  });
});

const PREVIEW = `https://${NEW.slice(0, 8)}-slipway-fixture.slipway-test.workers.dev`;
const ALIAS = 'https://pr-7-slipway-fixture.slipway-test.workers.dev';
const SCRIPT = 'https://api.cloudflare.com/client/v4/accounts/test-account/workers/scripts/slipway-fixture';
const uploaded = (fields: object = { preview_url: PREVIEW, preview_alias_url: ALIAS }): WranglerAnswer => ({
  entries: [
    { type: 'version-upload', version: 1, worker_name: 'slipway-fixture', version_id: NEW, ...fields },
  ],
});
const envelope = (result: unknown) => ({ body: { success: true, errors: [], messages: [], result } });

interface Case {
  name: string;
  /** The live deployment before the upload, then after it. */
  live: Live[];
  wrangler: WranglerAnswer;
  /** The API answers wrangler's own reads are repeated with, when there is no URL. */
  api?: FetchRule[];
  outputs: Record<string, unknown>;
  failure?: string;
  title: string;
  rows: string[];
}

const cases: Case[] = [
  {
    name: 'a preview: both URLs, production unchanged',
    live: [OURS, OURS],
    wrangler: uploaded(),
    outputs: {
      versionId: NEW,
      previewUrl: PREVIEW,
      previewAliasUrl: ALIAS,
      previewNote: '',
      deployed: false,
    },
    title: '### deploy: preview `pr-7` of `slipway-fixture` ✅ live',
    rows: [
      `| Alias URL | [${ALIAS}](${ALIAS}) |`,
      `| Production | unchanged: still serves ${OURS} (read before and after the upload) |`,
    ],
  },
  {
    name: 'a Durable Object Worker: no URL, has_preview false read back, the step succeeds',
    live: [OURS, OURS],
    wrangler: uploaded({}),
    api: [{ match: `GET ${SCRIPT}/versions/${NEW}`, result: envelope({ metadata: { has_preview: false } }) }],
    outputs: { versionId: NEW, previewUrl: '', previewAliasUrl: '', previewNote: NO_PREVIEW_NOTE },
    title: '### deploy: preview `pr-7` of `slipway-fixture` ✅ uploaded, no URL',
    rows: [`| No preview URL | ${NO_PREVIEW_NOTE} |`, '| Alias URL | – |'],
  },
  {
    name: 'preview URLs off: has_preview true, previews_enabled false',
    live: [OURS, OURS],
    wrangler: uploaded({}),
    api: [
      { match: `GET ${SCRIPT}/versions/${NEW}`, result: envelope({ metadata: { has_preview: true } }) },
      { match: `GET ${SCRIPT}/subdomain`, result: envelope({ enabled: false, previews_enabled: false }) },
    ],
    outputs: { previewUrl: '', previewNote: expect.stringMatching(/^Preview URLs are off for this Worker/) },
    title: '### deploy: preview `pr-7` of `slipway-fixture` ✅ uploaded, no URL',
    rows: [],
  },
  {
    name: 'production changed under the upload: a loud failure naming the change',
    live: [OURS, THEIRS],
    wrangler: uploaded(),
    outputs: { productionChanged: true, liveVersionId: THEIRS },
    failure: `Production changed while the preview uploaded: the Worker went from ${OURS} to ${THEIRS}. versions upload never deploys, so someone or something else did: check production before you roll anything back.`,
    title: '### deploy: preview `pr-7` of `slipway-fixture` ❌',
    rows: [`| Production | changed during the upload: now serves ${THEIRS} |`],
  },
  {
    name: 'a Worker name known only from wrangler (a TOML config) too long for the alias: the step fails saying so',
    live: [OURS, OURS],
    wrangler: uploaded({ worker_name: 'w'.repeat(59) }),
    api: [
      { match: /versions\//, result: envelope({ metadata: { has_preview: true } }) },
      { match: /subdomain/, result: envelope({ previews_enabled: true }) },
    ],
    outputs: { versionId: NEW, productionChanged: false },
    failure: `The preview uploaded (version ${NEW}), but its alias cannot be a preview URL: with the Worker's name, "pr-7-${'w'.repeat(59)}" is 64 characters, over the 63 a DNS label allows; use a shorter preview-alias.`,
    title: `### deploy: preview \`pr-7\` of \`${'w'.repeat(59)}\` ❌`,
    rows: [],
  },
  {
    name: "the upload fails: wrangler's words, production unchanged",
    live: [OURS, OURS],
    wrangler: { code: 1, entries: [failed(10021, 'Uploading a version failed')] },
    outputs: { versionId: '', productionChanged: false, previewUrl: '' },
    failure:
      'wrangler versions upload failed (code 10021): Uploading a version failed; production is unchanged.',
    title: '### deploy: preview `pr-7` ❌',
    rows: [],
  },
];

describe('deploy with preview-alias: versions upload, production read before and after', () => {
  let project: ReturnType<typeof fakeProject>;
  beforeAll(() => {
    project = fakeProject();
  });
  afterAll(() => project.remove());
  afterEach(() => rmSync(join(project.dir, 'wrangler.jsonc'), { force: true }));

  const options = (extra: Partial<DeployOptions> = {}): DeployOptions => ({
    ...connection(project.dir),
    message: 'PR #7',
    secrets: [['API_KEY', 's3cr3t']],
    vars: [['MESSAGE', 'pr-7']],
    dryRun: false,
    rolloutTimeoutMs: 600_000,
    allowIrreversible: false,
    previewAlias: 'pr-7',
    containersRollout: 'gradual',
    ...extra,
  });

  it.each(cases)('$name', async (spec) => {
    const rules: Rule[] = [
      ...liveVersions(...spec.live),
      { match: / versions upload /, result: answer(spec.wrangler) },
    ];
    const deps = scriptedDeps(rules, project.runnerTemp, spec.api ?? []);
    const result = await deploy(options(), deps);
    const context = `summary:\n${result.summary}\nlog:\n${deps.log.lines.join('\n')}`;
    expect(result.outputs, context).toMatchObject(spec.outputs);
    expect(result.failure, context).toBe(spec.failure);
    expect(result.summary.split('\n')[0]).toBe(spec.title);
    for (const row of spec.rows) expect(result.summary.split('\n'), context).toContain(row);
    const calls = wranglerCalls(deps.run.calls);
    expect(
      calls.filter((line) => /^(deploy |versions deploy|rollback)/.test(line)),
      'nothing deployed',
    ).toEqual([]);
    expect(deps.fetch.unanswered, 'only the reads that say why there is no URL').toEqual([]);
    expect(readdirSync(project.runnerTemp), 'the secrets file is left behind').toEqual([]);
  });

  it("versions upload gets deploy's message, vars and secrets file, the alias, and no --containers-rollout", async () => {
    const deps = scriptedDeps(
      [...liveVersions(OURS, OURS), { match: / versions upload /, result: answer(uploaded()) }],
      project.runnerTemp,
    );
    await deploy(options(), deps);
    const upload = wranglerCalls(deps.run.calls).find((line) => line.startsWith('versions upload'))!;
    expect(upload).toMatch(
      /^versions upload --message=PR #7 --var=MESSAGE:pr-7 --secrets-file \S+\/secrets\.json --preview-alias=pr-7$/,
    );
    expect(deps.log.secrets).toContain('s3cr3t');
  });

  it("an alias too long for the config's Worker name: one line, nothing run", async () => {
    writeFileSync(
      join(project.dir, 'wrangler.jsonc'),
      '{ "name": "slipway-fixture", "main": "src/index.js" }',
    );
    const deps = scriptedDeps([], project.runnerTemp);
    const alias = `pr-${'7'.repeat(45)}`;
    await expect(deploy(options({ previewAlias: alias }), deps)).rejects.toThrow(
      `Input "preview-alias" is "${alias}": with the Worker's name, "${alias}-slipway-fixture" is 64 characters, over the 63 a DNS label allows (Cloudflare's preview alias rules): use a shorter alias.`,
    );
    expect(wranglerCalls(deps.run.calls).filter((line) => !line.startsWith('--version'))).toEqual([]);
  });

  it.each([
    [
      { dryRun: true },
      'Input "preview-alias" uploads a preview, which reaches Cloudflare (a dry run does not): leave "dry-run" unset with it.',
    ],
    [
      { gradual: { steps: [10, 100] } as DeployOptions['gradual'] },
      'Input "preview-alias" uploads a preview, which never sends production traffic to the version (strategy gradual does): leave "strategy" unset with it.',
    ],
  ])('refused with %j', async (extra, line) => {
    const deps = scriptedDeps([], project.runnerTemp);
    await expect(deploy(options(extra), deps)).rejects.toThrow(line);
    expect(deps.run.calls).toEqual([]);
  });
});

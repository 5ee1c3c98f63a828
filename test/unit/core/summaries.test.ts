import { describe, expect, it } from 'vitest';
import { buildSummary, type BuildReport } from '../../../src/lib/build/summary.js';
import type { GitHubRequest } from '../../../src/lib/core/io.js';
import type { GitHubOwner } from '../../../src/lib/core/links.js';
import { OPEN_ROWS } from '../../../src/lib/core/markdown.js';
import { reportToGitHub } from '../../../src/lib/report/index.js';
import { REPORT_FORMAT, renderSummary, type SizeReport } from '../../../src/lib/size/report.js';
import type { Attempt } from '../../../src/lib/smoke/probe.js';
import { smokeSummary } from '../../../src/lib/smoke/summary.js';
import { SIZE_REPORT } from '../../fixtures/size-report.js';
import { fakeDeps } from '../../harness/fakes.js';

/**
 * The job summaries as GitHub renders them: long tables collapsed in <details> (short ones open),
 * links where there is somewhere to go, and every size in a stated unit (no bare byte count).
 */
const DETAILS = /<details><summary>([^<]+)<\/summary>\n\n[\s\S]*?\n\n<\/details>/g;
const collapsed = (markdown: string) => [...markdown.matchAll(DETAILS)].map((m) => m[1]);
/** A number of six or more digits outside a code span and without thousands separators. */
const bareByteCount = (markdown: string) =>
  markdown.replace(/`[^`]*`/g, '').match(/(?<![\d,.])\d{6,}(?![\d,])/g) ?? [];

const engine = {
  kind: 'docker',
  bin: 'docker',
  clientVersion: '28',
  serverVersion: '28',
  buildx: true,
  builder: 'buildx',
} as const;
const build = (tags: number, stages: number): BuildReport => ({
  image: 'ghcr.io/acme/app:sha-1',
  imageId: `sha256:${'a'.repeat(64)}`,
  references: Array.from({ length: tags }, (_, i) => `ghcr.io/acme/app:t${i}`),
  digest: '',
  steps: { cached: 3, total: 4 },
  durationSeconds: 12.5,
  engine,
  stageCache: Array.from({ length: stages }, (_, i) => ({
    stage: `s${i}`,
    key: `k${i}`,
    bucket: 'b',
    result: 'hit' as const,
    bytes: 123_456_789,
    seconds: 1,
  })),
  pushed: true,
});

const size = (layers: number): SizeReport => ({
  format: REPORT_FORMAT,
  image: 'app:1',
  imageId: 'sha256:abc',
  createdAt: '2026-12-02T00:00:00Z',
  measure: 'compressed',
  uncompressedBytes: 987_654_321,
  compressedBytes: 123_456_789,
  compressedSource: 'computed',
  cloudflareBytes: 987_654_321,
  layerCount: layers,
  budgetBytes: 2_000_000_000,
  budgetSource: 'max-size',
  layers: [],
  topLayers: Array.from({ length: layers }, (_, i) => ({
    sizeBytes: 10_000_000 + i,
    createdBy: `RUN step ${i}`,
  })),
  violations: [],
});

const attempts = (n: number): Attempt[] =>
  Array.from({ length: n }, (_, i) => ({
    n: i + 1,
    at: i,
    code: 503,
    outcome: 'retry' as const,
    reason: 'not yet',
  }));
const smoke = (n: number) =>
  smokeSummary({
    attempts: attempts(n),
    elapsedSeconds: n,
    href: 'https://app.example.workers.dev/health',
    failure: 'timed out',
  });

describe('job summaries: long tables collapsed, links, units', () => {
  it.each([
    ['build-image, a few tags and stages', buildSummary(build(2, 2)), []],
    [
      'build-image, many tags and stages',
      buildSummary(build(OPEN_ROWS + 1, OPEN_ROWS + 2)),
      [`Stage cache (${OPEN_ROWS + 2})`, `Tags (${OPEN_ROWS + 1})`],
    ],
    ['size-budget, five layers', renderSummary(size(5)), []],
    ['size-budget, many layers', renderSummary(size(OPEN_ROWS + 4)), [`Largest layers (${OPEN_ROWS + 4})`]],
    ['smoke-test, three attempts', smoke(3), []],
    ['smoke-test, a long outage', smoke(40), ['Timeline (40)']],
  ])('%s: collapsed %j', (_, markdown, expected) => {
    expect(collapsed(markdown)).toEqual(expected);
    if (!expected.length) expect(markdown).not.toContain('<details>');
    expect(bareByteCount(markdown), 'a size without its unit').toEqual([]);
  });

  it('sizes carry units: exact bytes with separators beside the decimal figure', () => {
    const markdown = renderSummary(size(1));
    expect(markdown).toContain('| Uncompressed | 987,654,321 | 988 MB |');
    expect(buildSummary(build(1, 1))).toContain('123 MB');
  });

  it('the smoke test links the URL it probed; the verdict stays above a collapsed timeline', () => {
    const markdown = smoke(40);
    expect(markdown).toContain(
      'GET [https://app.example.workers.dev/health](https://app.example.workers.dev/health)',
    );
    expect(markdown.indexOf('### smoke-test: ❌')).toBeLessThan(markdown.indexOf('<details>'));
  });
});

/** Every Markdown link in a summary, as [text, url]. */
const links = (markdown: string) =>
  [...markdown.matchAll(/\[([^\]]*)\]\(([^)\s]+)\)/g)].map((m) => [m[1], m[2]]);

describe('job summaries link the image pushed, where its registry has a page', () => {
  const ACME: GitHubOwner = { login: 'acme', type: 'Organization' };
  const pushed = (image: string, owner?: GitHubOwner, more: Partial<BuildReport> = {}) =>
    buildSummary({ ...build(1, 0), image, references: [`${image}`], owner, ...more });

  it.each<[string, string, GitHubOwner | undefined, string[][], string]>([
    [
      'ghcr.io, the repository owner an organization',
      'ghcr.io/acme/app:sha-1',
      ACME,
      [['ghcr.io/acme/app', 'https://github.com/orgs/acme/packages/container/package/app']],
      '| Registry | [ghcr.io/acme/app](https://github.com/orgs/acme/packages/container/package/app) |',
    ],
    [
      'ghcr.io, the repository owner a user',
      'ghcr.io/octocat/app:sha-1',
      { login: 'octocat', type: 'User' },
      [['ghcr.io/octocat/app', 'https://github.com/users/octocat/packages/container/package/app']],
      '| Registry | [ghcr.io/octocat/app](https://github.com/users/octocat/packages/container/package/app) |',
    ],
    [
      'Docker Hub',
      'docker.io/acme/app:v1',
      undefined,
      [['docker.io/acme/app', 'https://hub.docker.com/r/acme/app']],
      '| Registry | [docker.io/acme/app](https://hub.docker.com/r/acme/app) |',
    ],
    [
      'Docker Hub, an official image',
      'nginx:1.27',
      undefined,
      [['nginx', 'https://hub.docker.com/_/nginx']],
      '| Registry | [nginx](https://hub.docker.com/_/nginx) |',
    ],
    [
      'a local registry: named, no link',
      '127.0.0.1:5000/app:1',
      ACME,
      [],
      '| Registry | `127.0.0.1:5000/app` |',
    ],
    [
      'the Cloudflare registry: named, no link',
      'registry.cloudflare.com/abc/app:1',
      ACME,
      [],
      '| Registry | `registry.cloudflare.com/abc/app` |',
    ],
    [
      'ghcr.io without the owner (no event): no link',
      'ghcr.io/acme/app:1',
      undefined,
      [],
      '| Registry | `ghcr.io/acme/app` |',
    ],
  ])('build-image, %s', (_, image, owner, expected, row) => {
    const markdown = pushed(image, owner);
    expect(links(markdown)).toEqual(expected);
    expect(markdown.split('\n')).toContain(row);
  });

  it.each([
    ['not pushed', { pushed: false }],
    ['a failed build', { failure: 'the build failed' }],
  ])('build-image, %s: no Registry row, no link', (_, more) => {
    const markdown = pushed('ghcr.io/acme/app:1', ACME, more);
    expect(markdown).not.toContain('| Registry |');
    expect(links(markdown)).toEqual([]);
  });
});

describe('the report links the run when the runner says which one', () => {
  const RUN = {
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/gateway',
    GITHUB_RUN_ID: '99',
    GITHUB_RUN_NUMBER: '12',
  };
  const RUN_PAGE = 'https://github.com/acme/gateway/actions/runs/99';

  /** reportToGitHub against a GitHub that accepts every call; what it sent, and its summary. */
  async function report(env: Record<string, string>) {
    const sent: Array<{ route: string; params: Record<string, unknown> }> = [];
    const github: GitHubRequest = async (route, params) => {
      sent.push({ route, params });
      return { data: route.startsWith('GET') ? [] : { id: 7 } };
    };
    const deps = fakeDeps([], { github, env });
    const options = {
      repo: { owner: 'acme', repo: 'gateway' },
      sha: 'c0ffee',
      state: 'success' as const,
      statusContext: 'slipway',
      description: 'checks passed',
      pullNumber: 42,
      sizeReport: SIZE_REPORT,
      deployment: { environment: 'production', rolledBack: false },
    };
    const result = await reportToGitHub(options, deps);
    const param = (route: string, name: string) =>
      sent.find((call) => call.route.includes(route))?.params[name];
    return { summary: result.summary, param };
  }

  it('with GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID: the summary, comment, status and deployment link it', async () => {
    const { summary, param } = await report(RUN);
    expect(links(summary)).toEqual([['run #12', RUN_PAGE]]);
    expect(summary).toContain(`For [run #12](${RUN_PAGE}).`);
    expect(param('/statuses/', 'target_url')).toBe(RUN_PAGE);
    expect(param('/deployments/{deployment_id}/statuses', 'log_url')).toBe(RUN_PAGE);
    expect(String(param('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', 'body'))).toContain(
      `✅ checks passed ([run #12](${RUN_PAGE}))`,
    );
  });

  it.each([
    ['outside a runner', {}],
    ['without GITHUB_RUN_ID', { ...RUN, GITHUB_RUN_ID: '' }],
    ['without GITHUB_SERVER_URL', { ...RUN, GITHUB_SERVER_URL: '' }],
  ])('%s: no run link anywhere', async (_, env) => {
    const { summary, param } = await report(env);
    expect(links(summary)).toEqual([]);
    expect(param('/statuses/', 'target_url')).toBeUndefined();
    expect(param('/deployments/{deployment_id}/statuses', 'log_url')).toBeUndefined();
    const body = String(param('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', 'body'));
    expect(body).toContain('✅ checks passed\n');
    expect(body).not.toContain('actions/runs');
  });
});

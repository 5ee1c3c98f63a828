import { describe, expect, it } from 'vitest';
import { buildSummary, type BuildReport } from '../../../src/lib/build/summary.js';
import { OPEN_ROWS } from '../../../src/lib/core/markdown.js';
import { REPORT_FORMAT, renderSummary, type SizeReport } from '../../../src/lib/size/report.js';
import type { Attempt } from '../../../src/lib/smoke/probe.js';
import { smokeSummary } from '../../../src/lib/smoke/summary.js';

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

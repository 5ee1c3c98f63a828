import { cell, link, section, table } from '../core/markdown.js';
import { plural } from '../core/text.js';
import type { Attempt } from './probe.js';

/** One attempt as a timeline row: number, time, HTTP code, version, outcome and why. */
function row(attempt: Attempt): string[] {
  return [
    String(attempt.n),
    `+${attempt.at.toFixed(1)}s`,
    attempt.code ? String(attempt.code) : '–',
    attempt.version ? `\`${cell(attempt.version)}\`` : '–',
    `${attempt.outcome}${attempt.reason ? `: ${cell(attempt.reason)}` : ''}`,
  ];
}

/** Every attempt as a table; past 30, the first 10 and the last 20 (a long outage stays readable). */
export function timeline(attempts: Attempt[]): string {
  const head = ['#', 'time', 'HTTP', 'version', 'outcome'];
  if (attempts.length <= 30) return table(head, attempts.map(row));
  return table(head, [
    ...attempts.slice(0, 10).map(row),
    ['…', '', '', '', `${attempts.length - 30} attempts not shown`],
    ...attempts.slice(-20).map(row),
  ]);
}

/** The job summary: the verdict, what was asked, the failure if any, and the timeline. */
export function smokeSummary(run: {
  attempts: Attempt[];
  elapsedSeconds: number;
  href: string;
  /** The health mode (basic, json, extended), shown beside the request when given. */
  health?: string;
  expectVersion?: string;
  expectImage?: string;
  /** Why the expected version could not be proven (basic or json with no version proof). */
  unproven?: string;
  failure?: string;
}): string {
  const verdict = run.failure
    ? '❌ not healthy'
    : `✅ healthy after ${plural(run.attempts.length, 'attempt')} (${run.elapsedSeconds}s)`;
  return [
    `### smoke-test: ${verdict}`,
    '',
    `GET ${link(run.href, run.href)}${run.health ? ` (health: ${run.health})` : ''}${run.expectVersion ? ` expecting version \`${run.expectVersion}\`` : ''}${run.expectImage ? ` on image \`${run.expectImage}\`` : ''}`,
    '',
    ...(run.failure ? [`**${cell(run.failure)}**`, ''] : []),
    ...(run.unproven ? [`⚠️ ${cell(run.unproven)}`, ''] : []),
    ...section('Timeline', timeline(run.attempts), run.attempts.length),
  ].join('\n');
}

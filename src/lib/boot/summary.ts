import { cell, facts } from '../core/markdown.js';
import { plural } from '../core/text.js';
import type { BootTestOptions } from './index.js';
import { describeLimits } from './limits.js';

interface ShownDoc {
  version?: { id?: string };
  tools?: { status?: Record<string, string> };
  capabilities?: Record<string, boolean>;
}

/** The production limits the container ran under, in words. */
function limits(options: BootTestOptions): string {
  return `${describeLimits(options)}, pids ${options.pidsLimit}, ${options.readOnly ? 'read-only root, ' : ''}all capabilities dropped, no-new-privileges`;
}

/** Version, tools and capabilities of an extended-health document, as rows (none for a plain one). */
function documentRows(body: unknown): Array<[string, string]> {
  const doc = (typeof body === 'object' && body ? body : {}) as ShownDoc;
  const rows: Array<[string, string]> = [];
  if (doc.version?.id) rows.push(['Version', `\`${doc.version.id}\``]);
  const tools = Object.entries(doc.tools?.status ?? {});
  if (tools.length) rows.push(['Tools', cell(tools.map(([tool, state]) => `${tool}: ${state}`).join(', '))]);
  const capabilities = Object.entries(doc.capabilities ?? {});
  if (capabilities.length)
    rows.push([
      'Capabilities',
      cell(capabilities.map(([name, on]) => `${on ? '✅' : '⬜'} ${name}`).join(' ')),
    ]);
  return rows;
}

/** The job summary of an accepted boot. */
export function acceptedSummary(
  options: BootTestOptions,
  answer: { seconds: number; attempts: number; status: string; body: unknown },
): string {
  const rows: Array<[string, string]> = [
    [
      'Health',
      `\`${options.healthPath}\` (${options.health}) answered **${answer.status}** after ${plural(answer.attempts, 'attempt')}`,
    ],
    ['Limits', limits(options)],
    ...documentRows(answer.body),
  ];
  return `### boot-test: \`${options.image}\` ✅ ${answer.status} in ${answer.seconds} s\n\n${facts(rows)}\n`;
}

/** The job summary of a failed boot: what failed, the one-line failure, what was last seen. */
export function failedSummary(
  options: BootTestOptions,
  failed: { what: string; message: string; attempts: number; last: string },
): string {
  const rows: Array<[string, string]> = [
    [
      'Health',
      `\`${options.healthPath}\` (${options.health}): ${plural(failed.attempts, 'attempt')}, last: ${cell(failed.last)}`,
    ],
    ['Limits', limits(options)],
  ];
  return `### boot-test: \`${options.image}\` ❌ ${failed.what}\n\n**${cell(failed.message)}**\n\n${facts(rows)}\n`;
}

import { lastLine } from '../core/text.js';
import { UserError } from '../core/errors.js';
import type { Deps } from '../core/io.js';
import { cutBytes, errorDetail } from '../wrangler/output.js';
import { openWrangler, type Connection } from '../wrangler/session.js';

export interface RollbackOptions extends Connection {
  /** The recorded good version (deploy's previous-version-id). */
  toVersion: string;
  /** The version this rollback means to replace (deploy's version-id). */
  expectedLive: string;
  reason: string;
  force: boolean;
}

export interface RollbackResult {
  rolledBack: boolean;
  fromVersion: string;
  toVersion: string;
  /** wrangler had to force past a change of secrets (code 10220). */
  forced: boolean;
  summary: string;
  /** One line when the step must fail; production's state is in it. */
  failure?: string;
}

const VERSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkId(input: string, value: string): void {
  if (value && !VERSION_ID.test(value))
    throw new UserError(
      `Input "${input}" is "${value}": give a Worker version id (a UUID, as deploy's version outputs and \`wrangler versions list\` show).`,
    );
}

/**
 * rollback: return production to one named version, and only from the version this run expects.
 * Never argument-less (wrangler would pick "the deployment before the current one", which after a
 * failed deploy is older than the good version). Running it twice is safe: the second is a no-op.
 */
export async function rollback(o: RollbackOptions, deps: Deps): Promise<RollbackResult> {
  checkId('to-version', o.toVersion);
  checkId('expected-live', o.expectedLive);
  const session = await openWrangler(o, deps);
  const from = await session.live();
  const to = o.toVersion;
  const reason = cutBytes(o.reason.trim() || `Rollback by Slipway from ${from || 'nothing'}`);
  const result: RollbackResult = {
    rolledBack: false,
    fromVersion: from,
    toVersion: to,
    forced: false,
    summary: '',
  };
  const finish = (title: string, rows: Array<[string, string]>): RollbackResult => {
    result.summary = [
      `### rollback: ${title}`,
      '',
      '| | |',
      '| --- | --- |',
      `| From | \`${from || '(nothing live)'}\` |`,
      `| To | \`${to || '(none recorded)'}\` |`,
      `| Reason | ${reason.replace(/\|/g, '\\|')} |`,
      ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`),
      ...(result.failure ? [`| Error | ${result.failure.replace(/\|/g, '\\|')} |`] : []),
      '',
    ].join('\n');
    return result;
  };

  if (!to) {
    result.failure = `Nothing to roll back to: no previous version was recorded (a first deploy has none); production serves ${from || 'nothing'}. Deploy a fixed version, or pass to-version with an id from \`wrangler versions list\`.`;
    return finish('❌ nothing to roll back to', []);
  }
  if (from === to) {
    deps.log.info(`${to} is already live: nothing to roll back.`);
    return finish('✅ already live, nothing done', []);
  }
  if (!from) {
    result.failure = `Cannot roll back: the Worker has no live deployment (not deployed yet, or deleted), so ${to} cannot be restored by a rollback. Deploy instead.`;
    return finish('❌ nothing is live', []);
  }
  if (o.expectedLive && from !== o.expectedLive) {
    const who = `production serves ${from}, which is neither expected-live ${o.expectedLive} nor to-version ${to}: someone else deployed since`;
    if (!o.force) {
      result.failure = `Refusing to roll back: ${who}. Re-run with force: true to replace it anyway.`;
      return finish('⛔ refused', []);
    }
    deps.log.warning(`force: true: rolling back although ${who}.`);
  } else if (!o.expectedLive) {
    deps.log.info(`expected-live not given: rolling back from whatever is live (${from}).`);
  }

  deps.log.info(`Rolling back ${from} → ${to}: ${reason}`);
  const r = await deps.log.group(`wrangler rollback ${to}`, () =>
    session.run(['rollback', to, '--message', reason, '--yes', ...session.common], false),
  );
  const text = `${r.stdout}\n${r.stderr}`;
  result.forced = /The following secrets have changed/.test(text);
  if (result.forced)
    deps.log.warning(
      `Secrets changed since ${to} was deployed (code 10220): wrangler forced the rollback; ${to} runs with the secrets it was deployed with.`,
    );
  const after = await session.live().catch(() => '');
  result.rolledBack = after === to;
  if (r.code !== 0 || after !== to) {
    const said = [r.outcome.failure?.message ?? lastLine(r.stderr || r.stdout), errorDetail(text)]
      .filter(Boolean)
      .join(' ');
    const state =
      after === to
        ? `production serves ${to} all the same`
        : after === from
          ? `production is unchanged (still ${from})`
          : `production serves ${after || 'nothing'}`;
    result.failure = `wrangler rollback failed${r.outcome.failure?.code ? ` (code ${r.outcome.failure.code})` : ''}: ${said || 'no message'}; ${state}.`;
    return finish('❌ failed', [['Production', state]]);
  }
  return finish(`✅ ${to} is live again`, [
    ['Production', `serves ${to}`],
    ...(result.forced
      ? ([['Forced', 'secrets changed since that version (10220)']] as Array<[string, string]>)
      : []),
  ]);
}

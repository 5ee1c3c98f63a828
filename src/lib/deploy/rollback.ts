import { UserError } from '../core/errors.js';
import type { ActionResult, Deps, Log } from '../core/io.js';
import { cell, facts } from '../core/markdown.js';
import { lastLine } from '../core/text.js';
import type { WranglerRunResult } from '../wrangler/cli.js';
import { cutBytes, errorDetail } from '../wrangler/output.js';
import { openWrangler, type Connection, type WranglerSession } from '../wrangler/session.js';

export interface RollbackOptions extends Connection {
  /** The recorded good version (deploy's previous-version-id). */
  toVersion: string;
  /** The version this rollback means to replace (deploy's version-id). */
  expectedLive: string;
  reason: string;
  force: boolean;
}

/** rollback's outputs, keyed as src/actions/rollback/inputs.ts OUTPUTS names them. */
export interface RollbackOutputs {
  rolledBack: boolean;
  fromVersion: string;
  toVersion: string;
}

/** rollback's result; `failure` says production's state. */
export type RollbackResult = ActionResult<RollbackOutputs> & {
  /** wrangler had to force past a change of secrets (code 10220). */
  forced: boolean;
};

const VERSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkId(input: string, value: string): void {
  if (value && !VERSION_ID.test(value))
    throw new UserError(
      `Input "${input}" is "${value}": give a Worker version id (a UUID, as deploy's version outputs and \`wrangler versions list\` show).`,
    );
}

/** What one rollback is about: from the live version to the recorded one, and why. */
interface Plan {
  from: string;
  to: string;
  reason: string;
}

/** How a rollback ended: the summary's title and extra rows, and the outputs that differ by ending. */
interface Ending {
  title: string;
  rolledBack?: boolean;
  forced?: boolean;
  rows?: Array<[string, string]>;
  failure?: string;
}

/**
 * rollback: return production to one named version, and only from the version this run expects.
 * Never argument-less (wrangler would pick "the deployment before the current one", which after a
 * failed deploy is older than the good version). Running it twice is safe: the second is a no-op.
 */
export async function rollback(options: RollbackOptions, deps: Deps): Promise<RollbackResult> {
  checkId('to-version', options.toVersion);
  checkId('expected-live', options.expectedLive);
  const session = await openWrangler(options, deps);
  const from = await session.live();
  const reason = cutBytes(options.reason.trim() || `Rollback by Slipway from ${from || 'nothing'}`);
  const plan: Plan = { from, to: options.toVersion, reason };
  const stop = stopBeforeRollback(options, plan, deps.log);
  if (stop) return finish(plan, stop);
  const ran = await runRollback(session, plan, deps.log);
  return finish(plan, await verifyRollback(session, plan, ran));
}

/** Why this rollback must not run wrangler (nothing to do, or nothing it may do); undefined: go on. */
function stopBeforeRollback(options: RollbackOptions, plan: Plan, log: Log): Ending | undefined {
  const { from, to } = plan;
  if (!to)
    return {
      title: '❌ nothing to roll back to',
      failure: `Nothing to roll back to: no previous version was recorded (a first deploy has none); production serves ${from || 'nothing'}. Deploy a fixed version, or pass to-version with an id from \`wrangler versions list\`.`,
    };
  if (from === to) {
    log.info(`${to} is already live: nothing to roll back.`);
    return { title: '✅ already live, nothing done' };
  }
  if (!from)
    return {
      title: '❌ nothing is live',
      failure: `Cannot roll back: the Worker has no live deployment (not deployed yet, or deleted), so ${to} cannot be restored by a rollback. Deploy instead.`,
    };
  return checkExpectedLive(options, plan, log);
}

/** Someone else deployed since this run's deploy: refused unless forced. */
function checkExpectedLive(options: RollbackOptions, plan: Plan, log: Log): Ending | undefined {
  const { from, to } = plan;
  if (!options.expectedLive) {
    log.info(`expected-live not given: rolling back from whatever is live (${from}).`);
    return undefined;
  }
  if (from === options.expectedLive) return undefined;
  const who = `production serves ${from}, which is neither expected-live ${options.expectedLive} nor to-version ${to}: someone else deployed since`;
  if (!options.force)
    return {
      title: '⛔ refused',
      failure: `Refusing to roll back: ${who}. Re-run with force: true to replace it anyway.`,
    };
  log.warning(`force: true: rolling back although ${who}.`);
  return undefined;
}

/** Runs `wrangler rollback` to the named version; `forced` when wrangler forced past changed secrets. */
async function runRollback(
  session: WranglerSession,
  plan: Plan,
  log: Log,
): Promise<{ result: WranglerRunResult; forced: boolean }> {
  const { from, to, reason } = plan;
  log.info(`Rolling back ${from} → ${to}: ${reason}`);
  const result = await log.group(`wrangler rollback ${to}`, () =>
    session.run(['rollback', to, '--message', reason, '--yes', ...session.common], false),
  );
  const forced = /The following secrets have changed/.test(`${result.stdout}\n${result.stderr}`);
  if (forced)
    log.warning(
      `Secrets changed since ${to} was deployed (code 10220): wrangler forced the rollback; ${to} runs with the secrets it was deployed with.`,
    );
  return { result, forced };
}

/** Reads back what is live: the rollback succeeded only when the named version serves. */
async function verifyRollback(
  session: WranglerSession,
  plan: Plan,
  ran: { result: WranglerRunResult; forced: boolean },
): Promise<Ending> {
  const { from, to } = plan;
  const { result, forced } = ran;
  const after = await session.live().catch(() => '');
  if (result.code === 0 && after === to)
    return {
      title: `✅ ${to} is live again`,
      rolledBack: true,
      forced,
      rows: [['Production', `serves ${to}`], ...(forced ? FORCED_ROW : [])],
    };
  const state =
    after === to
      ? `production serves ${to} all the same`
      : after === from
        ? `production is unchanged (still ${from})`
        : `production serves ${after || 'nothing'}`;
  const failed = result.outcome.failure;
  const said = [
    failed?.message ?? lastLine(result.stderr || result.stdout),
    errorDetail(`${result.stdout}\n${result.stderr}`),
  ]
    .filter(Boolean)
    .join(' ');
  return {
    title: '❌ failed',
    rolledBack: after === to,
    forced,
    rows: [['Production', state]],
    failure: `wrangler rollback failed${failed?.code ? ` (code ${failed.code})` : ''}: ${said || 'no message'}; ${state}.`,
  };
}

const FORCED_ROW: Array<[string, string]> = [['Forced', 'secrets changed since that version (10220)']];

function finish(plan: Plan, ending: Ending): RollbackResult {
  const rows: Array<[string, string]> = [
    ['From', `\`${plan.from || '(nothing live)'}\``],
    ['To', `\`${plan.to || '(none recorded)'}\``],
    ['Reason', cell(plan.reason)],
    ...(ending.rows ?? []).map(([label, text]): [string, string] => [label, cell(text)]),
    ...(ending.failure ? [['Error', cell(ending.failure)] as [string, string]] : []),
  ];
  return {
    outputs: { rolledBack: ending.rolledBack ?? false, fromVersion: plan.from, toVersion: plan.to },
    forced: ending.forced ?? false,
    failure: ending.failure,
    summary: `### rollback: ${ending.title}\n\n${facts(rows)}\n`,
  };
}

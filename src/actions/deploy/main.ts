import * as core from '@actions/core';
import { describeError } from '../../lib/core/errors.js';
import { deploy } from '../../lib/deploy/deploy.js';
import { readEventPayload } from '../shared/event.js';
import { cancellable, publish, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readInputs((name) => core.getInput(name));
  await publish(
    await deploy({ ...inputs, commit: headCommit() }, runnerDeps(cancellable('deploy'))),
    OUTPUTS,
  );
}

/**
 * The commit being deployed, as the push event tells it: the default message names it. Only that
 * message needs the event, so a corrupt event file is a warning and the deploy goes on without it.
 * Read here rather than from @actions/github's `context`, whose module parses the file as it loads
 * (see ../shared/event.ts).
 */
function headCommit(): { subject: string; sha: string } | undefined {
  try {
    const head = (readEventPayload() as { head_commit?: { message?: unknown } }).head_commit;
    const subject = typeof head?.message === 'string' ? head.message : '';
    return subject ? { subject, sha: process.env.GITHUB_SHA ?? '' } : undefined;
  } catch (err) {
    core.warning(`${describeError(err)}; the default deploy message goes without the commit subject.`);
    return undefined;
  }
}

import * as core from '@actions/core';
import * as github from '@actions/github';
import { deploy } from '../../lib/deploy/deploy.js';
import { publish, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readInputs((name) => core.getInput(name));
  // The default message names the commit being deployed, as the push event tells it.
  const head = (github.context.payload as { head_commit?: { message?: string } }).head_commit;
  const commit = head?.message ? { subject: head.message, sha: github.context.sha } : undefined;
  await publish(await deploy({ ...inputs, commit }, runnerDeps()), OUTPUTS);
}

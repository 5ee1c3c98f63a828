import * as core from '@actions/core';
import { smokeTest } from '../../lib/smoke/index.js';
import { runnerLog } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const o = readInputs((n) => core.getInput(n));
  const r = await smokeTest(o, { log: runnerLog });
  core.setOutput(OUTPUTS.healthy, String(r.healthy));
  core.setOutput(OUTPUTS.attempts, String(r.attempts.length));
  core.setOutput(OUTPUTS.elapsedSeconds, String(r.elapsedSeconds));
  core.setOutput(OUTPUTS.status, r.status);
  core.setOutput(OUTPUTS.health, r.health);
  await core.summary.addRaw(r.summary, true).write();
  if (r.failure) core.setFailed(r.failure);
}

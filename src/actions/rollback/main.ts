import * as core from '@actions/core';
import { rollback } from '../../lib/deploy/rollback.js';
import { runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const o = readInputs((n) => core.getInput(n));
  const r = await rollback(o, runnerDeps());
  core.setOutput(OUTPUTS.rolledBack, String(r.rolledBack));
  core.setOutput(OUTPUTS.fromVersion, r.fromVersion);
  core.setOutput(OUTPUTS.toVersion, r.toVersion);
  await core.summary.addRaw(r.summary, true).write();
  if (r.failure) core.setFailed(r.failure);
}

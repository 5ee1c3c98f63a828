import * as core from '@actions/core';
import { execRunner } from '../../lib/exec.js';
import { rollback } from '../../lib/rollback.js';
import { runnerLog } from '../shared/runner.js';
import { actionsToolCache } from '../shared/tool-cache.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const o = readInputs((n) => core.getInput(n));
  const r = await rollback(o, {
    run: execRunner,
    log: runnerLog,
    env: process.env,
    toolCache: actionsToolCache(),
  });
  core.setOutput(OUTPUTS.rolledBack, String(r.rolledBack));
  core.setOutput(OUTPUTS.fromVersion, r.fromVersion);
  core.setOutput(OUTPUTS.toVersion, r.toVersion);
  await core.summary.addRaw(r.summary, true).write();
  if (r.failure) core.setFailed(r.failure);
}

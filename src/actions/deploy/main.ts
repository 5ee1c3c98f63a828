import * as core from '@actions/core';
import * as github from '@actions/github';
import { deploy } from '../../lib/deploy/deploy.js';
import { runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const o = readInputs((n) => core.getInput(n));
  const head = (github.context.payload as { head_commit?: { message?: string } }).head_commit;
  const r = await deploy(
    { ...o, commit: head?.message ? { subject: head.message, sha: github.context.sha } : undefined },
    runnerDeps(),
  );
  core.setOutput(OUTPUTS.versionId, r.versionId);
  core.setOutput(OUTPUTS.previousVersionId, r.previousVersionId);
  core.setOutput(OUTPUTS.deploymentUrl, r.deploymentUrl);
  core.setOutput(OUTPUTS.workerName, r.workerName);
  core.setOutput(OUTPUTS.deployed, String(r.deployed));
  core.setOutput(OUTPUTS.liveVersionId, r.liveVersionId);
  core.setOutput(OUTPUTS.productionChanged, String(r.productionChanged));
  await core.summary.addRaw(r.summary, true).write();
  if (r.failure) core.setFailed(r.failure);
}

import * as core from '@actions/core';
import { sizeBudget } from '../../lib/size/index.js';
import { removeOnCancel, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readInputs((n) => core.getInput(n), process.env);
  const r = await sizeBudget(inputs, runnerDeps({ own: removeOnCancel('size-budget') }));
  const rep = r.report;
  core.setOutput(OUTPUTS.uncompressedBytes, String(rep.uncompressedBytes));
  core.setOutput(OUTPUTS.compressedBytes, String(rep.compressedBytes));
  core.setOutput(OUTPUTS.cloudflareBytes, String(rep.cloudflareBytes));
  core.setOutput(OUTPUTS.budgetBytes, String(rep.budgetBytes));
  core.setOutput(OUTPUTS.withinBudget, String(!rep.violations.some((v) => v.kind === 'over-budget')));
  core.setOutput(OUTPUTS.deltaBytes, rep.baseline ? String(rep.baseline.deltaBytes) : '');
  core.setOutput(OUTPUTS.violations, JSON.stringify(rep.violations));
  core.setOutput(OUTPUTS.report, r.reportPath);
  await core.summary.addRaw(r.summary, true).write();
  core.info(r.summary.split('\n').find((l) => l.includes('█')) ?? '');
  core.debug(`peak-rss-kb=${process.resourceUsage().maxRSS}`);
  if (r.failure) core.setFailed(r.failure);
}

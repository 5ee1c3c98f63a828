import * as core from '@actions/core';
import { sizeBudget } from '../../lib/size/index.js';
import { publish, removeOnCancel, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readInputs((name) => core.getInput(name), process.env);
  const result = await sizeBudget(inputs, runnerDeps({ own: removeOnCancel('size-budget') }));
  // The bar line of the summary, so the log shows the verdict without opening the summary.
  core.info(result.summary.split('\n').find((line) => line.includes('█')) ?? '');
  core.debug(`peak-rss-kb=${process.resourceUsage().maxRSS}`);
  await publish(result, OUTPUTS);
}

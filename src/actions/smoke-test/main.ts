import * as core from '@actions/core';
import { smokeTest } from '../../lib/smoke/index.js';
import { publish, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const options = readInputs((name) => core.getInput(name));
  await publish(await smokeTest(options, runnerDeps()), OUTPUTS);
}

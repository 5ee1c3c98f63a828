import * as core from '@actions/core';
import { rollback } from '../../lib/deploy/rollback.js';
import { publish, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readInputs((name) => core.getInput(name));
  await publish(await rollback(inputs, runnerDeps()), OUTPUTS);
}

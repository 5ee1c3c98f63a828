import * as core from '@actions/core';
import { buildImage } from '../../lib/build/index.js';
import { cancellable, publish, runContext, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readInputs((name) => core.getInput(name), process.env);
  if (inputs.cacheRegistryToken) core.setSecret(inputs.cacheRegistryToken);
  const result = await buildImage({ ...inputs, run: runContext() }, runnerDeps(cancellable('build-image')));
  await publish(result, OUTPUTS);
  if (result.failure) return;
  const hits = result.stageCache.filter((stage) => stage.result === 'hit').length;
  const { image, durationSeconds, cacheHitRatio } = result.outputs;
  core.info(
    `Built ${image} in ${durationSeconds} s; cached steps ${Math.round(cacheHitRatio * 100)}%` +
      (result.stageCache.length ? `; stage cache ${hits}/${result.stageCache.length} hit.` : '.'),
  );
}

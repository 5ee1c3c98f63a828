import * as core from '@actions/core';
import { buildImage } from '../../lib/build/index.js';
import { runContext, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readInputs((n) => core.getInput(n), process.env);
  const r = await buildImage({ ...inputs, run: runContext() }, runnerDeps());
  core.setOutput(OUTPUTS.image, r.image);
  core.setOutput(OUTPUTS.imageId, r.imageId);
  core.setOutput(OUTPUTS.tags, r.tags.join('\n'));
  core.setOutput(OUTPUTS.digest, r.digest ?? '');
  core.setOutput(OUTPUTS.cacheHitRatio, String(r.cacheHitRatio));
  core.setOutput(OUTPUTS.stageCache, JSON.stringify(r.stageCache));
  core.setOutput(OUTPUTS.durationSeconds, String(r.durationSeconds));
  await core.summary.addRaw(r.summary, true).write();
  const hits = r.stageCache.filter((s) => s.result === 'hit').length;
  core.info(
    `Built ${r.image} in ${r.durationSeconds} s; cached steps ${Math.round(r.cacheHitRatio * 100)}%` +
      (r.stageCache.length ? `; stage cache ${hits}/${r.stageCache.length} hit.` : '.'),
  );
}

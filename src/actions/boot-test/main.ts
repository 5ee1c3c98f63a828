import { spawnSync } from 'node:child_process';
import * as core from '@actions/core';
import { bootTest } from '../../lib/boot-test.js';
import { detectEngine } from '../../lib/docker/engine.js';
import { execRunner } from '../../lib/exec.js';
import { runnerLog } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

const STATE = 'container';

/** Removes the container named in state: the post step, after a cancelled or crashed main. */
export async function post(): Promise<void> {
  const name = core.getState(STATE);
  if (!name) return;
  const engine = await detectEngine(execRunner, process.env);
  await execRunner(engine.bin, ['rm', '-f', '-v', name], { silent: true });
  core.info(`Removed the boot-test container ${name} left by the main step.`);
}

export async function run(): Promise<void> {
  const o = readInputs((n) => core.getInput(n));
  const engine = await detectEngine(execRunner, process.env);
  if (o.network === 'auto') {
    const bridge = await execRunner(engine.bin, ['network', 'inspect', 'bridge'], { silent: true });
    o.network = bridge.code === 0 ? 'bridge' : 'host';
  }
  // Cancellation (SIGINT, then SIGTERM from the runner) must not leave the container behind.
  let current: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (current) spawnSync(engine.bin, ['rm', '-f', '-v', current], { stdio: 'ignore' });
    core.setFailed(`boot-test cancelled (${signal}); its container was removed.`);
    process.exit(1);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const r = await bootTest(o, {
    run: execRunner,
    log: runnerLog,
    env: process.env,
    onContainer: (name) => {
      current = name;
      core.saveState(STATE, name ?? '');
    },
  });
  core.setOutput(OUTPUTS.bootSeconds, String(r.bootSeconds));
  core.setOutput(OUTPUTS.health, JSON.stringify(r.health));
  core.setOutput(OUTPUTS.status, r.status);
  await core.summary.addRaw(r.summary, true).write();
}

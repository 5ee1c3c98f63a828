import * as core from '@actions/core';
import { bootTest } from '../../lib/boot/index.js';
import { detectEngine } from '../../lib/engine/engine.js';
import { ownedContainer } from '../../lib/engine/owned.js';
import { execRunner } from '../../lib/core/exec.js';
import { removeOnCancel, runnerLog } from '../shared/runner.js';
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
  const track = removeOnCancel('boot-test');
  const r = await bootTest(o, {
    run: execRunner,
    log: runnerLog,
    env: process.env,
    onContainer: (name) => {
      track(name ? ownedContainer(engine.bin, name) : undefined);
      core.saveState(STATE, name ?? '');
    },
  });
  core.setOutput(OUTPUTS.bootSeconds, String(r.bootSeconds));
  core.setOutput(OUTPUTS.health, JSON.stringify(r.health));
  core.setOutput(OUTPUTS.status, r.status);
  await core.summary.addRaw(r.summary, true).write();
}

import * as core from '@actions/core';
import { bootTest, removeLeftContainer } from '../../lib/boot/index.js';
import { publish, removeOnCancel, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

const STATE = 'container';

/** Removes the container named in state: the post step, after a cancelled or crashed main. */
export async function post(): Promise<void> {
  await removeLeftContainer(core.getState(STATE), runnerDeps());
}

export async function run(): Promise<void> {
  const options = readInputs((name) => core.getInput(name));
  const track = removeOnCancel('boot-test');
  const result = await bootTest(
    options,
    runnerDeps({
      // Cancellation removes the container; the post step finds it by the name kept in state.
      own: (container) => {
        track(container);
        core.saveState(STATE, container?.name ?? '');
      },
    }),
  );
  await publish(result, OUTPUTS);
}

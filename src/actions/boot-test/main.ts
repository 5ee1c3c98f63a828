import * as core from '@actions/core';
import { bootTest, removeLeftContainer } from '../../lib/boot/index.js';
import { publish, removeOnCancel, runnerDeps } from '../shared/runner.js';
import { CONTAINER_OUTPUT, OUTPUTS, readInputs } from './inputs.js';

const STATE = 'container';

/** Removes the container named in state: the post step, after a cancelled or crashed main. */
export async function post(): Promise<void> {
  await removeLeftContainer(core.getState(STATE), runnerDeps());
}

export async function run(): Promise<void> {
  const options = readInputs((name) => core.getInput(name));
  const track = removeOnCancel('boot-test');
  core.setOutput(CONTAINER_OUTPUT, ''); // set as the container starts, emptied when it is removed
  const result = await bootTest(
    options,
    runnerDeps({
      // Cancellation removes the container; the post step finds it by the name kept in state (the
      // pipeline's cleanup step by the output).
      own: (container) => {
        track(container);
        core.saveState(STATE, container?.name ?? '');
        core.setOutput(CONTAINER_OUTPUT, container?.name ?? '');
      },
    }),
  );
  await publish(result, OUTPUTS);
}

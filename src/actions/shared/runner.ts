import * as core from '@actions/core';
import * as github from '@actions/github';
import { describeError } from '../../lib/errors.js';
import type { OwnedContainer } from '../../lib/docker/owned.js';
import type { Log } from '../../lib/io.js';
import { runContextFrom, type RunContext } from '../../lib/tags/metadata.js';

/** The lib's IO port on the Actions runner. */
export const runnerLog: Log = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  group: (name, fn) => core.group(name, fn),
  secret: (v) => core.setSecret(v),
};

/** What the run is (event, ref, sha, default branch, PR number) from the runner's env and event. */
export function runContext(): RunContext {
  return runContextFrom(process.env, github.context.payload);
}

/** Runs an entry: any error becomes one failed line, never a stack trace. */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    core.debug(err instanceof Error && err.stack ? err.stack : String(err));
    core.setFailed(describeError(err));
  }
}

/**
 * Cancellation (SIGINT, then SIGTERM from the runner) must not leave a container behind: returns
 * the tracker to call with the container while it exists (undefined once it is gone). On a signal
 * the tracked container is removed and the step fails with `what` and the signal.
 */
export function removeOnCancel(what: string): (c: OwnedContainer | undefined) => void {
  let current: OwnedContainer | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    current?.removeNow();
    core.setFailed(
      `${what} cancelled (${signal})${current ? `; its container ${current.name} was removed` : ''}.`,
    );
    process.exit(1);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return (c) => {
    current = c;
  };
}

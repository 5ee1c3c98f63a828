import * as core from '@actions/core';
import * as github from '@actions/github';
import { describeError } from '../../lib/errors.js';
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

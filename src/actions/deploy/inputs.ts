import type { DeployOptions, DeployOutputs } from '../../lib/deploy/deploy.js';
import {
  foldLines,
  oneLineInputs,
  parseBoolean,
  parseChoice,
  parseDuration,
  parseImageReference,
  parseKeyValues,
  parseOptionValue,
} from '../../lib/core/inputs.js';
import { CONNECTION_INPUTS, readConnection } from '../shared/connection.js';
import type { OutputNames } from '../shared/runner.js';

/** Input names, exactly as in actions/deploy/action.yml (a test holds them equal). */
export const INPUTS = {
  ...CONNECTION_INPUTS,
  message: 'message',
  tag: 'tag',
  secrets: 'secrets',
  vars: 'vars',
  dryRun: 'dry-run',
  untrusted: 'untrusted',
  containersRollout: 'containers-rollout',
  image: 'image',
  rolloutTimeout: 'rollout-timeout',
  allowIrreversible: 'allow-irreversible',
} as const;

/** Output names, exactly as in action.yml, by the keys the lib returns them under. */
export const OUTPUTS = {
  versionId: 'version-id',
  previousVersionId: 'previous-version-id',
  deploymentUrl: 'deployment-url',
  workerName: 'worker-name',
  deployed: 'deployed',
  liveVersionId: 'live-version-id',
  productionChanged: 'production-changed',
  previousState: 'previous-state',
  deployedState: 'deployed-state',
  reversible: 'reversible',
} as const satisfies OutputNames<DeployOutputs>;

export function readInputs(raw: (name: string) => string): DeployOptions {
  // One line: the message is echoed in wrangler's command line; line breaks are folded.
  const get = oneLineInputs(raw, [INPUTS.secrets, INPUTS.vars, INPUTS.message]);
  return {
    ...readConnection(get),
    // wrangler gets them as `--config <path>` and `--env <name>`.
    config: parseOptionValue(INPUTS.config, get(INPUTS.config)) || undefined,
    environment: parseOptionValue(INPUTS.environment, get(INPUTS.environment)) || undefined,
    message: foldLines(get(INPUTS.message)) || undefined,
    tag: get(INPUTS.tag).trim() || undefined,
    secrets: parseKeyValues(INPUTS.secrets, get(INPUTS.secrets)),
    vars: parseKeyValues(INPUTS.vars, get(INPUTS.vars)),
    dryRun: parseBoolean(INPUTS.dryRun, get(INPUTS.dryRun), false),
    untrusted: parseBoolean(INPUTS.untrusted, get(INPUTS.untrusted), false),
    image: parseImageReference(INPUTS.image, get(INPUTS.image)) || undefined,
    rolloutTimeoutMs: parseDuration(INPUTS.rolloutTimeout, get(INPUTS.rolloutTimeout), 600) * 1000,
    allowIrreversible: parseBoolean(INPUTS.allowIrreversible, get(INPUTS.allowIrreversible), false),
    containersRollout: parseChoice(
      INPUTS.containersRollout,
      get(INPUTS.containersRollout),
      ['immediate', 'gradual'] as const,
      undefined,
    ),
  };
}

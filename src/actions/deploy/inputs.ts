import type { DeployOptions, DeployOutputs } from '../../lib/deploy/deploy.js';
import {
  parseBoolean,
  parseChoice,
  parseDuration,
  parseImageReference,
  parseKeyValues,
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

export function readInputs(get: (name: string) => string): DeployOptions {
  return {
    ...readConnection(get),
    message: get(INPUTS.message).trim() || undefined,
    tag: get(INPUTS.tag).trim() || undefined,
    secrets: parseKeyValues(INPUTS.secrets, get(INPUTS.secrets)),
    vars: parseKeyValues(INPUTS.vars, get(INPUTS.vars)),
    dryRun: parseBoolean(INPUTS.dryRun, get(INPUTS.dryRun), false),
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

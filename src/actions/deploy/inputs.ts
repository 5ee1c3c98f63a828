import type { DeployOptions, DeployOutputs } from '../../lib/deploy/deploy.js';
import {
  foldLines,
  oneLineInputs,
  parseBoolean,
  parseChoice,
  parseDuration,
  parseImageReference,
  parseKeyValues,
  parseNumber,
  parseOptionValue,
  parsePath,
} from '../../lib/core/inputs.js';
import { UserError } from '../../lib/core/errors.js';
import { parseErrorRate, parseSteps } from '../../lib/deploy/gradual-plan.js';
import { parsePreviewAlias } from '../../lib/deploy/preview.js';
import type { GradualOptions } from '../../lib/deploy/gradual.js';
import { DEFAULT_HEALTH_MODE, defaultHealthPath, HEALTH_MODES } from '../../lib/health/mode.js';
import { CONNECTION_INPUTS, readConnection } from '../shared/connection.js';
import { parseVersionProof } from '../shared/health.js';
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
  strategy: 'strategy',
  gradualSteps: 'gradual-steps',
  stepWait: 'step-wait',
  maxErrorRate: 'max-error-rate',
  minRequests: 'min-requests',
  gateUrl: 'gate-url',
  gateTimeout: 'gate-timeout',
  health: 'health',
  healthPath: 'health-path',
  versionHeader: 'version-header',
  versionPath: 'version-path',
  previewAlias: 'preview-alias',
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
  previewUrl: 'preview-url',
  previewAliasUrl: 'preview-alias-url',
  previewNote: 'preview-note',
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
    gradual: readGradual(get),
    previewAlias: parsePreviewAlias(INPUTS.previewAlias, get(INPUTS.previewAlias)),
    containersRollout: parseChoice(
      INPUTS.containersRollout,
      get(INPUTS.containersRollout),
      ['immediate', 'gradual'] as const,
      undefined,
    ),
  };
}

/** strategy gradual's steps and gates; undefined for immediate (the default). */
function readGradual(get: (name: string) => string): GradualOptions | undefined {
  const strategy = parseChoice(
    INPUTS.strategy,
    get(INPUTS.strategy),
    ['immediate', 'gradual'] as const,
    'immediate',
  );
  if (strategy === 'immediate') return undefined;
  const health = parseChoice(INPUTS.health, get(INPUTS.health), HEALTH_MODES, DEFAULT_HEALTH_MODE);
  const url = get(INPUTS.gateUrl).trim();
  if (url && !/^https?:\/\/[^/\s]+/.test(url))
    throw new UserError(
      `Input "gate-url" is "${url}": give the Worker's URL, such as https://app.example.com.`,
    );
  return {
    steps: parseSteps(INPUTS.gradualSteps, get(INPUTS.gradualSteps)),
    stepWaitMs: parseDuration(INPUTS.stepWait, get(INPUTS.stepWait), 300) * 1000,
    maxErrorRate: parseErrorRate(INPUTS.maxErrorRate, get(INPUTS.maxErrorRate)),
    minRequests: parseNumber(INPUTS.minRequests, get(INPUTS.minRequests), 100, 0, 1e9, true),
    gate: {
      url: url || undefined,
      health,
      path: parsePath(INPUTS.healthPath, get(INPUTS.healthPath), defaultHealthPath(health)),
      proof: parseVersionProof(health, get(INPUTS.versionHeader).trim(), get(INPUTS.versionPath).trim()),
      timeoutMs: parseDuration(INPUTS.gateTimeout, get(INPUTS.gateTimeout), 60) * 1000,
    },
  };
}

import { UserError } from '../../lib/core/errors.js';
import { foldLines, oneLineInputs, parseBoolean, parseChoice } from '../../lib/core/inputs.js';
import type { PreviewReport, ReportOutputs, RunState } from '../../lib/report/index.js';
import type { OutputNames } from '../shared/runner.js';

/** Input names, exactly as in actions/report/action.yml (a test holds them equal). */
export const INPUTS = {
  token: 'token',
  state: 'state',
  statusContext: 'status-context',
  description: 'description',
  sizeReport: 'size-report',
  environment: 'environment',
  environmentUrl: 'environment-url',
  versionId: 'version-id',
  rolledBack: 'rolled-back',
  commitStatus: 'commit-status',
  previewUrl: 'preview-url',
  previewVersion: 'preview-version',
  previewNote: 'preview-note',
  previewEnvironment: 'preview-environment',
  deactivateEnvironment: 'deactivate-environment',
} as const;

export const OUTPUTS = {
  commentId: 'comment-id',
  deploymentId: 'deployment-id',
  deactivated: 'deactivated',
} as const satisfies OutputNames<ReportOutputs>;

export interface ReportInputs {
  token: string;
  state: RunState;
  statusContext: string;
  description: string;
  sizeReport?: string;
  environment?: string;
  environmentUrl?: string;
  versionId?: string;
  rolledBack: boolean;
  commitStatus: boolean;
  preview?: PreviewReport;
  deactivateEnvironment?: string;
}

export function readInputs(raw: (name: string) => string): ReportInputs {
  // The description is one line for the status, comment and deployment: line breaks are folded.
  const get = oneLineInputs(raw, [INPUTS.description, INPUTS.previewNote]);
  const token = get(INPUTS.token).trim();
  if (!token)
    throw new UserError(
      'Input "token" is empty: pass github.token (with statuses, pull-requests or deployments write).',
    );
  const deactivateEnvironment = get(INPUTS.deactivateEnvironment).trim() || undefined;
  const state = parseChoice(
    INPUTS.state,
    get(INPUTS.state),
    ['success', 'failure', 'pending', 'error'] as const,
    undefined,
  );
  if (!state && !deactivateEnvironment)
    throw new UserError('Input "state" is required: success, failure, pending or error (e.g. job.status).');
  return {
    token,
    // Deactivating sets no status: the state is not used then.
    state: state ?? 'success',
    statusContext: get(INPUTS.statusContext).trim() || 'slipway',
    description: foldLines(get(INPUTS.description)) || `Slipway: ${state}`,
    sizeReport: get(INPUTS.sizeReport).trim() || undefined,
    environment: get(INPUTS.environment).trim() || undefined,
    environmentUrl: get(INPUTS.environmentUrl).trim() || undefined,
    versionId: get(INPUTS.versionId).trim() || undefined,
    rolledBack: parseBoolean(INPUTS.rolledBack, get(INPUTS.rolledBack), false),
    commitStatus: parseBoolean(INPUTS.commitStatus, get(INPUTS.commitStatus), true),
    preview: readPreview(get),
    deactivateEnvironment,
  };
}

/** The preview inputs; undefined when none is set (no preview to report). */
function readPreview(get: (name: string) => string): PreviewReport | undefined {
  const url = get(INPUTS.previewUrl).trim();
  if (url && !/^https?:\/\/[^\s/]+/.test(url))
    throw new UserError(
      `Input "preview-url" is "${url}": give the preview's URL, such as deploy's preview-alias-url.`,
    );
  const preview = {
    url: url || undefined,
    versionId: get(INPUTS.previewVersion).trim() || undefined,
    note: foldLines(get(INPUTS.previewNote)) || undefined,
    environment: get(INPUTS.previewEnvironment).trim() || undefined,
  };
  return Object.values(preview).some(Boolean) ? preview : undefined;
}

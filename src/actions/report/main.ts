import * as core from '@actions/core';
import * as github from '@actions/github';
import { loadSizeReport, reportToGitHub, type ReportOptions } from '../../lib/report/index.js';
import { publish, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs, type ReportInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readInputs((name) => core.getInput(name));
  core.setSecret(inputs.token);
  const octokit = github.getOctokit(inputs.token);
  const deps = runnerDeps({ github: (route, params) => octokit.request(route, params) });
  const result = await reportToGitHub(reportOptions(inputs), deps);
  await publish(result, OUTPUTS);
}

/** The inputs with what the run's GitHub context says: which commit, which pull request, which run. */
function reportOptions(inputs: ReportInputs): ReportOptions {
  const { context } = github;
  const pullRequest = context.payload.pull_request as { number: number; head: { sha: string } } | undefined;
  const serverUrl = process.env.GITHUB_SERVER_URL;
  const { owner, repo } = context.repo;
  return {
    repo: context.repo,
    // On a pull request, GITHUB_SHA is the merge commit; the status belongs on the head commit.
    sha: pullRequest?.head.sha ?? context.sha,
    pullNumber: pullRequest?.number,
    state: inputs.state,
    statusContext: inputs.statusContext,
    description: inputs.description,
    targetUrl:
      context.runId && serverUrl ? `${serverUrl}/${owner}/${repo}/actions/runs/${context.runId}` : undefined,
    sizeReport: loadSizeReport(inputs.sizeReport),
    deployment: inputs.environment
      ? {
          environment: inputs.environment,
          url: inputs.environmentUrl,
          versionId: inputs.versionId,
          rolledBack: inputs.rolledBack,
        }
      : undefined,
  };
}

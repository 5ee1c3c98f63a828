import { existsSync } from 'node:fs';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { reportToGitHub } from '../../lib/report/index.js';
import { readReport } from '../../lib/size/report.js';
import { runnerLog } from '../shared/runner.js';
import { OUTPUTS, readInputs } from './inputs.js';

export async function run(): Promise<void> {
  const o = readInputs((n) => core.getInput(n));
  core.setSecret(o.token);
  const { context } = github;
  const pr = context.payload.pull_request as { number: number; head: { sha: string } } | undefined;
  const octokit = github.getOctokit(o.token);
  const runUrl =
    context.runId && process.env.GITHUB_SERVER_URL
      ? `${process.env.GITHUB_SERVER_URL}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`
      : undefined;
  const r = await reportToGitHub(
    {
      repo: context.repo,
      sha: pr?.head.sha ?? context.sha,
      pullNumber: pr?.number,
      state: o.state,
      statusContext: o.statusContext,
      description: o.description,
      targetUrl: runUrl,
      sizeReport: o.sizeReport && existsSync(o.sizeReport) ? readReport(o.sizeReport) : undefined,
      deployment: o.environment
        ? {
            environment: o.environment,
            url: o.environmentUrl,
            versionId: o.versionId,
            rolledBack: o.rolledBack,
          }
        : undefined,
    },
    (route, params) => octokit.request(route, params),
    runnerLog,
  );
  core.setOutput(OUTPUTS.commentId, r.commentId ? String(r.commentId) : '');
  core.setOutput(OUTPUTS.deploymentId, r.deploymentId ? String(r.deploymentId) : '');
}

import * as core from '@actions/core';
import { loadSizeReport, reportToGitHub, type ReportOptions } from '../../lib/report/index.js';
import { readEventPayload, type EventPayload } from '../shared/event.js';
import { publish, runnerDeps } from '../shared/runner.js';
import { OUTPUTS, readInputs, type ReportInputs } from './inputs.js';

type Context = (typeof import('@actions/github'))['context'];

export async function run(): Promise<void> {
  const inputs = readInputs((name) => core.getInput(name));
  core.setSecret(inputs.token);
  // The event says which commit and which pull request the report is about (a pull request's head
  // sha, not the merge commit GITHUB_SHA names). A corrupt event file fails the step with one line:
  // reporting without it would put the status on the wrong commit and skip the comment unseen.
  const payload = readEventPayload();
  // Imported only now: @actions/github parses the event file as its module loads (see
  // ../shared/event.ts), which would throw a stack trace before run() on a corrupt file.
  const github = await import(/* webpackMode: "eager" */ '@actions/github');
  const octokit = github.getOctokit(inputs.token);
  const deps = runnerDeps({ github: (route, params) => octokit.request(route, params) });
  const result = await reportToGitHub(reportOptions(inputs, github.context, payload), deps);
  await publish(result, OUTPUTS);
}

/** The inputs with what the run's GitHub context says: which commit, which pull request. */
function reportOptions(inputs: ReportInputs, context: Context, payload: EventPayload): ReportOptions {
  const pullRequest = payload.pull_request as { number: number; head: { sha: string } } | undefined;
  // The run's page (the status's link) comes from the runner's env in the lib (core/links.ts runUrl).
  return {
    repo: context.repo,
    // On a pull request, GITHUB_SHA is the merge commit; the status belongs on the head commit.
    sha: pullRequest?.head.sha ?? context.sha,
    pullNumber: pullRequest?.number,
    state: inputs.state,
    statusContext: inputs.statusContext,
    description: inputs.description,
    sizeReport: loadSizeReport(inputs.sizeReport),
    deployment: inputs.environment
      ? {
          environment: inputs.environment,
          url: inputs.environmentUrl,
          versionId: inputs.versionId,
          rolledBack: inputs.rolledBack,
        }
      : undefined,
    commitStatus: inputs.commitStatus,
    preview: inputs.preview,
    deactivateEnvironment: inputs.deactivateEnvironment,
  };
}

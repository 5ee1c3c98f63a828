// The local stand-in's entry: see action.yml. Like the real action it requires a non-empty
// github-token, runs the script as an async function and sets `result`.
import * as core from '@actions/core';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const noApi = new Proxy(
  {},
  {
    get() {
      throw new Error('the local stand-in of actions/github-script has no GitHub API (no network here)');
    },
  },
);
const context = {
  eventName: process.env.GITHUB_EVENT_NAME,
  sha: process.env.GITHUB_SHA,
  ref: process.env.GITHUB_REF,
};

try {
  core.getInput('github-token', { required: true });
  const script = core.getInput('script', { required: true });
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
  const run = new AsyncFunction(
    'require',
    '__original_require__',
    'github',
    'octokit',
    'context',
    'core',
    'exec',
    'glob',
    'io',
    script,
  );
  const result = await run(require, require, noApi, noApi, context, core, noApi, noApi, noApi);
  const encoding = core.getInput('result-encoding') || 'json';
  core.setOutput('result', encoding === 'string' ? String(result ?? '') : JSON.stringify(result));
} catch (error) {
  core.setFailed(`Unhandled error: ${error}`);
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../../../src/lib/wrangler/session.js';
import { fakeDeps, type Call, type Rule } from '../../harness/fakes.js';

/** Worker version ids as wrangler prints them. */
export const GOOD = '11111111-1111-4111-8111-111111111111';
export const OURS = '22222222-2222-4222-8222-222222222222';
export const THEIRS = '33333333-3333-4333-8333-333333333333';
export const NEW = '44444444-4444-4444-8444-444444444444';

/**
 * A project with its own wrangler 4.86.0 (node_modules/.bin/wrangler and its package.json), so
 * resolveWrangler picks "the project's own" and nothing is installed; and a RUNNER_TEMP to see what
 * is left behind. `remove()` deletes both.
 */
export function fakeProject(): { dir: string; runnerTemp: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'slipway-unit-deploy-'));
  const dir = join(root, 'project');
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', 'wrangler'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', '.bin', 'wrangler'), '#!/bin/sh\nexit 99\n', { mode: 0o755 });
  writeFileSync(join(dir, 'node_modules', 'wrangler', 'package.json'), '{"version":"4.86.0"}');
  const runnerTemp = join(root, 'runner-temp');
  mkdirSync(runnerTemp);
  return { dir, runnerTemp, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export function connection(dir: string): Connection {
  return {
    apiToken: 'test-token',
    accountId: 'test-account',
    workingDirectory: dir,
    wranglerVersion: '',
  };
}

/** What one scripted wrangler run answers: exit code, output, and the ND-JSON entries it writes. */
export interface WranglerAnswer {
  code?: number;
  stdout?: string;
  stderr?: string;
  /** Written to WRANGLER_OUTPUT_FILE_PATH, one JSON line each (none: no file, as a crash leaves). */
  entries?: object[];
}

export function answer(
  reply: WranglerAnswer,
): (call: Call) => { code: number; stdout: string; stderr: string } {
  return (call) => {
    const file = call.options.env?.WRANGLER_OUTPUT_FILE_PATH;
    if (!file) throw new Error(`wrangler was run without WRANGLER_OUTPUT_FILE_PATH: ${call.line}`);
    if (reply.entries) writeFileSync(file, reply.entries.map((entry) => JSON.stringify(entry)).join('\n'));
    return { code: reply.code ?? 0, stdout: reply.stdout ?? '', stderr: reply.stderr ?? '' };
  };
}

/** wrangler's command-failed entry. */
export const failed = (code: number | undefined, message: string) => ({
  type: 'command-failed',
  code,
  message,
});

/** A `deployments status` answer that is neither a version nor "no Worker": the read fails. */
export const UNREADABLE = 'unreadable';

/**
 * `wrangler deployments status --json` answering each live version in turn (the last one for every
 * later call); '' is a Worker that does not exist (code 10007), UNREADABLE a failed read.
 */
export function liveVersions(...versions: string[]): Rule[] {
  return versions.map((version, index) => ({
    match: / deployments status --json/,
    times: index < versions.length - 1 ? 1 : undefined,
    result: answer(statusAnswer(version)),
  }));
}

function statusAnswer(version: string): WranglerAnswer {
  if (version === UNREADABLE) return { code: 1, entries: [failed(10000, 'Authentication error')] };
  if (!version) return { code: 1, entries: [failed(10007, 'This Worker does not exist on your account.')] };
  // Two versions during a gradual rollout: the live one is the one at the highest share.
  const versions = [
    { version_id: version, percentage: 90 },
    { version_id: '00000000-0000-4000-8000-000000000000', percentage: 10 },
  ];
  return { stdout: `Fetching deployments…\n${JSON.stringify({ versions: versions.reverse() })}` };
}

/** Deps whose env keeps wrangler off the container engine and the user's docker config. */
export function scriptedDeps(rules: Rule[], runnerTemp: string) {
  return fakeDeps(rules, {
    env: {
      RUNNER_TEMP: runnerTemp,
      RUNNER_TOOL_CACHE: join(runnerTemp, 'tools'),
      WRANGLER_DOCKER_BIN: 'docker',
      DOCKER_CONFIG: join(runnerTemp, 'docker-config'),
    },
  });
}

/** The wrangler command lines a run made, without the binary's path. */
export function wranglerCalls(calls: Call[]): string[] {
  return calls.filter((call) => call.command.endsWith('/wrangler')).map((call) => call.args.join(' '));
}

/** A "✘ [ERROR]" block as wrangler prints it, the API's words under it. */
function errorBlock(headline: string, detail: string, code: number): string {
  return `\u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m ${headline}\n\n  ${detail} [code: ${code}]\n\n  If you think this is a bug, please open an issue.\n`;
}

/** wrangler failing on an API error (code 10013): its command-failed entry, and the API's words under "[ERROR]". */
export function apiFailure(detail: string): WranglerAnswer {
  const headline = 'A request to the Cloudflare API (/deployments) failed.';
  return { code: 1, entries: [failed(10013, headline)], stderr: errorBlock(headline, detail, 10013) };
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../../../src/lib/wrangler/session.js';
import type { VersionShare } from '../../../src/lib/wrangler/output.js';
import {
  fakeClock,
  fakeDeps,
  scriptedFetch,
  type Call,
  type FetchCall,
  type FetchRule,
  type Rule,
} from '../../harness/fakes.js';

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

/** What one `deployments status` read finds: a version alone at 100%, a split, '' or UNREADABLE. */
export type Live = string | VersionShare[];

/**
 * `wrangler deployments status --json` answering each live deployment in turn (the last one for
 * every later call): a version id is that version at 100%, an array a split; '' is a Worker that does
 * not exist (code 10007), UNREADABLE a failed read.
 */
export function liveVersions(...deployments: Live[]): Rule[] {
  return deployments.map((live, index) => ({
    match: / deployments status --json/,
    times: index < deployments.length - 1 ? 1 : undefined,
    result: answer(statusAnswer(live)),
  }));
}

function statusAnswer(live: Live): WranglerAnswer {
  if (live === UNREADABLE) return { code: 1, entries: [failed(10000, 'Authentication error')] };
  if (!live.length)
    return { code: 1, entries: [failed(10007, 'This Worker does not exist on your account.')] };
  const versions = typeof live === 'string' ? [{ version_id: live, percentage: 100 }] : live;
  // The lowest share first: the kit must not take the API's order for "the live version".
  const listed = [...versions].sort((first, second) => first.percentage - second.percentage);
  return { stdout: `Fetching deployments…\n${JSON.stringify({ versions: listed })}` };
}

/**
 * `wrangler versions view <id> --json`: the version with a plain-text binding, and a Durable Object
 * namespace binding for each version id `bound` maps to a namespace id (none by default).
 */
export function versionsView(bound: Record<string, string> = {}): Rule {
  return {
    match: / versions view [0-9a-f-]{36} --json/,
    result: (call) => {
      const id = call.args[call.args.indexOf('view') + 1]!;
      const bindings: object[] = [{ type: 'plain_text', name: 'MESSAGE', text: 'hello' }];
      if (bound[id])
        bindings.push({
          type: 'durable_object_namespace',
          name: 'APP',
          class_name: 'App',
          namespace_id: bound[id],
        });
      const version = { id, number: 7, metadata: { source: 'wrangler' }, resources: { bindings } };
      return answer({ stdout: JSON.stringify(version, null, 2) })(call);
    },
  };
}

/**
 * Deps whose env keeps wrangler off the container engine and the user's docker config; the scripted
 * wrangler answers `versions view` without Durable Objects unless an earlier rule does; fetch answers
 * only `fetchRules` (no rule: any request fails); sleep moves the fake clock on.
 */
export function scriptedDeps(rules: Rule[], runnerTemp: string, fetchRules: FetchRule[] = []) {
  const clock = fakeClock();
  const fetch = scriptedFetch(fetchRules);
  const deps = fakeDeps([...rules, versionsView()], {
    env: {
      RUNNER_TEMP: runnerTemp,
      RUNNER_TOOL_CACHE: join(runnerTemp, 'tools'),
      WRANGLER_DOCKER_BIN: 'docker',
      DOCKER_CONFIG: join(runnerTemp, 'docker-config'),
    },
    now: clock.now,
    sleep: clock.sleep,
  });
  return Object.assign(deps, { fetch, clock });
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

/** Container images as the Cloudflare registry names them. */
export const REGISTRY = 'registry.cloudflare.com/test-account/app';
export const OLD_IMAGE = `${REGISTRY}:slipway-aaaaaaaaaaaa`;
export const NEW_IMAGE = `${REGISTRY}:slipway-bbbbbbbbbbbb`;
export const OTHER_IMAGE = `${REGISTRY}:slipway-cccccccccccc`;
/** The Durable Object namespace the Worker's versions bind, and the application bound to it. */
export const NAMESPACE = 'namespace-app';
export const APP_ID = 'app-1';

/** One read of a rollout: its status and progress (each GET of the rollout moves to the next). */
export interface RolloutFrame {
  status: string;
  updated?: number;
  total?: number;
  /** The step in progress; `reason` is what the API says it waits for. */
  step?: { id: number; status: string; reason?: string };
}

export interface ModelRollout {
  id: string;
  image: string;
  fromImage: string;
  /** Read in turn by GET …/rollouts/:id, the last one for every later read. */
  frames: RolloutFrame[];
  reads: number;
}

export interface ModelApp {
  id: string;
  name: string;
  image: string;
  namespaceId: string;
  /** Newest first, as the API lists them. */
  rollouts: ModelRollout[];
}

/** The image an instance the rollout has not really replaced still runs. */
export const STALE_IMAGE = 'registry.example/acct/app:slipway-000000000000';

/** A rollout that moves 2 instances in one step: progressing, half-way, then completed. */
export const COMPLETES: RolloutFrame[] = [
  { status: 'progressing', updated: 0, total: 2, step: { id: 1, status: 'progressing' } },
  { status: 'progressing', updated: 1, total: 2, step: { id: 1, status: 'progressing' } },
  { status: 'completed', updated: 2, total: 2 },
];
/** A revert: its instances go back, then it is reverted. */
export const REVERTS: RolloutFrame[] = [
  { status: 'progressing', updated: 1, total: 2, step: { id: 1, status: 'reverting' } },
  { status: 'reverted', updated: 0, total: 2 },
];
/** A rollout whose one step never finishes. */
export const STUCK_REASON = 'waiting for instance 0 to become healthy';
export const STUCK: RolloutFrame[] = [
  {
    status: 'progressing',
    updated: 0,
    total: 2,
    step: { id: 1, status: 'progressing', reason: STUCK_REASON },
  },
];

/** The application `app`, bound to NAMESPACE, on `image`, with its rollouts (newest first). */
export function modelApp(image: string, rollouts: ModelRollout[] = []): ModelApp {
  return { id: APP_ID, name: 'app', image, namespaceId: NAMESPACE, rollouts };
}

export function modelRollout(
  id: string,
  fromImage: string,
  image: string,
  frames: RolloutFrame[],
): ModelRollout {
  return { id, image, fromImage, frames, reads: 0 };
}

/**
 * The Cloudflare API as deploy and rollback use it, over a small in-memory model: the applications
 * and their rollouts (each GET of a rollout reads its next frame), a new rollout (it sets the
 * application's image, as the API does, and runs `newRollout`), a revert (the application goes back
 * to the image before the rollout, which runs `revert`), and the Worker's live migration tag.
 * `writes` lists every POST as `POST <path> <body>`.
 */
export function cloudflareModel(
  apps: ModelApp[],
  options: {
    newRollout?: RolloutFrame[];
    revert?: RolloutFrame[];
    migrationTag?: string;
    /** How many reads of the instance view still show one instance on STALE_IMAGE. */
    staleReads?: number;
  } = {},
): { apps: ModelApp[]; rules: FetchRule[]; writes: string[]; started: ModelRollout[] } {
  const writes: string[] = [];
  const started: ModelRollout[] = [];
  const app = (id: string) => {
    const found = apps.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`no application ${id}`);
    return found;
  };
  const rollout = (appId: string, id: string) => {
    const found = app(appId).rollouts.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`no rollout ${id} of ${appId}`);
    return found;
  };
  const ok = (result: unknown) => ({ body: { success: true, errors: [], result } });
  const path = (call: FetchCall) => call.url.replace(/^.*?\/accounts\/test-account\//, '');
  const rules: FetchRule[] = [
    {
      match: /^GET \S+\/containers\/applications$/,
      result: () =>
        ok(
          apps.map((each) => ({
            id: each.id,
            name: each.name,
            configuration: { image: each.image, instance_type: 'basic' },
            durable_objects: { namespace_id: each.namespaceId },
          })),
        ),
    },
    {
      match: /^GET \S+\/containers\/applications\/[^/]+\/rollouts\?limit=1$/,
      result: (call) => {
        const latest = app(path(call).split('/')[2]!).rollouts[0];
        return ok(latest ? [rolloutJson(latest, frameOf(latest))] : []);
      },
    },
    {
      match: /^GET \S+\/containers\/applications\/[^/]+\/rollouts\/[^/?]+$/,
      result: (call) => {
        const [, , appId, , id] = path(call).split('/');
        const read = rollout(appId!, id!);
        const frame = frameOf(read);
        read.reads++;
        return ok(rolloutJson(read, frame));
      },
    },
    {
      match: /^POST \S+\/containers\/applications\/[^/]+\/rollouts$/,
      result: (call) => {
        writes.push(`POST ${path(call)} ${JSON.stringify(call.body)}`);
        const target = app(path(call).split('/')[2]!);
        const image = (call.body as { target_configuration: { image: string } }).target_configuration.image;
        const created = modelRollout(
          `rollout-${started.length + 10}`,
          target.image,
          image,
          options.newRollout ?? COMPLETES,
        );
        started.push(created);
        target.rollouts.unshift(created);
        target.image = image;
        return ok({ ...rolloutJson(created, created.frames[0]!), status: 'pending' });
      },
    },
    {
      match: /^POST \S+\/containers\/applications\/[^/]+\/rollouts\/[^/?]+$/,
      result: (call) => {
        writes.push(`POST ${path(call)} ${JSON.stringify(call.body)}`);
        const [, , appId, , id] = path(call).split('/');
        const reverted = rollout(appId!, id!);
        reverted.frames = options.revert ?? REVERTS;
        reverted.reads = 0;
        app(appId!).image = reverted.fromImage;
        return ok({});
      },
    },
    {
      // The instance view: two instances on the application's image (the first on STALE_IMAGE
      // for the first `staleReads` reads: a rollout shown done before its instances are).
      match: /^GET \S+\/containers\/applications\/[^/]+\/instances-v2$/,
      result: (call) => {
        const image = app(path(call).split('/')[2]!).image;
        const stale = (options.staleReads ?? 0) > 0;
        if (stale) options.staleReads!--;
        return ok([
          { id: 'a'.repeat(64), image: stale ? STALE_IMAGE : image, status: { state: 'running' } },
          { id: 'b'.repeat(64), image, status: { state: 'running' } },
        ]);
      },
    },
    {
      match: /^GET \S+\/workers\/services\/[^/]+$/,
      result: () =>
        ok({
          id: 'slipway-fixture',
          default_environment: {
            environment: 'production',
            script: {
              id: 'slipway-fixture',
              ...(options.migrationTag ? { migration_tag: options.migrationTag } : {}),
            },
          },
        }),
    },
  ];
  return { apps, rules, writes, started };
}

function frameOf(rollout: ModelRollout): RolloutFrame {
  return rollout.frames[Math.min(rollout.reads, rollout.frames.length - 1)]!;
}

/** A rollout as the API returns it (ApplicationRollout). */
function rolloutJson(rollout: ModelRollout, frame: RolloutFrame): object {
  return {
    id: rollout.id,
    status: frame.status,
    kind: 'full_auto',
    strategy: 'rolling',
    target_configuration: { image: rollout.image },
    current_configuration: { image: rollout.fromImage },
    progress: {
      current_step: 1,
      total_steps: 1,
      updated_instances: frame.updated,
      total_instances: frame.total,
    },
    steps: [
      {
        id: 1,
        status: frame.step?.status ?? (frame.status === 'reverted' ? 'reverted' : 'completed'),
        step_size: { percentage: 100 },
        ...(frame.step?.reason ? { reason: frame.step.reason } : {}),
      },
    ],
    health: { errors: [] },
  };
}

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, runAction, visibleText } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';
import { DEBIAN_IMAGE, docker } from '../harness/docker.js';

/**
 * A deploy cancelled while `wrangler deploy` runs (the runner's SIGINT, then SIGTERM 7.5 s later)
 * must leave nothing behind: the secrets file, the derived config pointing containers at the image,
 * and wrangler's login to the container registry. The wrangler here is the project's own (a
 * script): it answers "no Worker yet" to the status read, then, as deploy, logs in to the registry
 * the way wrangler does (an entry in the docker config), reports the files it was given, and hangs.
 */
const REGISTRY = 'registry.cloudflare.com';
const SECRET = 'sk-live-cancel-canary-6d0e';

const FAKE_WRANGLER = (marker: string) => `#!/bin/sh
case "$1" in
  deployments) echo 'workers.api.error.script_not_found [code: 10007]' >&2; exit 1 ;;
  deploy)
    secrets=""; config=""
    while [ $# -gt 0 ]; do
      case "$1" in --secrets-file) secrets="$2" ;; --config=*) config="\${1#--config=}" ;; esac
      shift
    done
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths":{"${REGISTRY}":{"auth":"dXNlcjpwYXNz"}}}' > "$DOCKER_CONFIG/config.json"
    printf '%s\\n%s\\n' "$secrets" "$config" > "${marker}.tmp" && mv "${marker}.tmp" "${marker}"
    sleep 60 ;;
  *) exit 1 ;;
esac
`;

const CONFIG = {
  name: 'cancel-me',
  main: 'src/index.js',
  compatibility_date: '2025-04-01',
  containers: [{ class_name: 'App', image: './Dockerfile', max_instances: 1 }],
  durable_objects: { bindings: [{ name: 'APP', class_name: 'App' }] },
  migrations: [{ tag: 'v1', new_sqlite_classes: ['App'] }],
};

describe('a deploy cancelled in the middle of wrangler deploy', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-cancel-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const waitFor = async (file: string, ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end;) {
      if (existsSync(file)) return readFileSync(file, 'utf8').trim().split('\n');
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the fake wrangler never reached its deploy (no ${file})`);
  };

  it('removes the secrets file and the derived config, logs out of the registry, and fails in one line', async () => {
    const project = join(dir, 'project');
    mkdirSync(join(project, 'src'), { recursive: true });
    mkdirSync(join(project, 'node_modules/.bin'), { recursive: true });
    writeFileSync(join(project, 'wrangler.jsonc'), JSON.stringify(CONFIG, null, 2));
    writeFileSync(
      join(project, 'src/index.js'),
      'export default { fetch() { return new Response("ok") } }\n',
    );
    const marker = join(dir, 'deploying');
    writeFileSync(join(project, 'node_modules/.bin/wrangler'), FAKE_WRANGLER(marker), { mode: 0o755 });
    const dockerConfig = join(dir, 'docker-config');
    const runnerTemp = join(dir, 'runner-temp');
    mkdirSync(runnerTemp);

    const cancel = new AbortController();
    const running = runAction(
      'deploy',
      {
        'api-token': TEST_TOKEN,
        'account-id': TEST_ACCOUNT,
        'working-directory': project,
        image: `${REGISTRY}/${TEST_ACCOUNT}/cancel-me:v1`,
        secrets: `API_KEY=${SECRET}`,
      },
      {
        env: { DOCKER_CONFIG: dockerConfig, RUNNER_TEMP: runnerTemp },
        signal: cancel.signal,
        timeoutMs: 60_000,
      },
    );
    const [secretsFile, derivedConfig] = await waitFor(marker, 30_000);
    // While wrangler runs, all three exist: what the cancellation must undo.
    expect(readFileSync(secretsFile!, 'utf8')).toContain(SECRET);
    expect(existsSync(derivedConfig!), `the derived config ${derivedConfig} should exist mid-deploy`).toBe(
      true,
    );
    cancel.abort();
    const r = await running;

    expect(r.code).toBe(1);
    expect(existsSync(secretsFile!), `the secrets file ${secretsFile} was left behind`).toBe(false);
    expect(existsSync(derivedConfig!), `the derived config ${derivedConfig} was left behind`).toBe(false);
    expect(readdirSync(runnerTemp).filter((f) => f.startsWith('slipway-deploy-'))).toEqual([]);
    const auths = (JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8')) as { auths?: object })
      .auths;
    expect(Object.keys(auths ?? {}), "wrangler's registry login was left in the docker config").not.toContain(
      REGISTRY,
    );
    const errors = errorLines(r);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^deploy cancelled \(SIGINT\); .* were removed\.$/);
    expect(errors[0]).toContain('the secrets file');
    expect(errors[0]).toContain('the derived config .slipway-wrangler.jsonc');
    expect(errors[0]).toContain("wrangler's registry login");
    expect(visibleText(r)).not.toContain(SECRET);
  }, 90_000);
});

describe('a build cancelled while a RUN uses a build secret', () => {
  it('removes the secret files with the build directory, and fails in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-cancel-build-'));
    const runnerTemp = join(dir, 'runner-temp');
    mkdirSync(runnerTemp);
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${DEBIAN_IMAGE}\nRUN --mount=type=secret,id=NPM_TOKEN sleep 60\n`,
    );
    const cancel = new AbortController();
    try {
      const running = runAction(
        'build-image',
        { image: 'slipway-e2e/cancel-build', secrets: `NPM_TOKEN=${SECRET}`, network: 'host', cache: 'none' },
        // Debian's client drives the daemon's BuildKit (DOCKER_BUILDKIT=1): build secrets need it.
        {
          cwd: dir,
          env: { SLIPWAY_DOCKER: '/usr/bin/docker', RUNNER_TEMP: runnerTemp },
          signal: cancel.signal,
        },
      );
      const secretsDir = async () => {
        for (const end = Date.now() + 30_000; Date.now() < end;) {
          const build = readdirSync(runnerTemp).find((f) => f.startsWith('slipway-build-'));
          if (build && existsSync(join(runnerTemp, build, 'secrets'))) return join(runnerTemp, build);
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error('the build never wrote its secret files');
      };
      const buildDir = await secretsDir();
      await new Promise((r) => setTimeout(r, 1500)); // the RUN with the secret mounted has started
      cancel.abort();
      const r = await running;
      expect(r.code).toBe(1);
      expect(
        existsSync(buildDir),
        `the build directory with the secret files ${buildDir} was left behind`,
      ).toBe(false);
      expect(errorLines(r)).toEqual([
        expect.stringMatching(
          /^build-image cancelled \(SIGINT\); the build secrets \(the work directory\) was removed\.$/,
        ),
      ]);
      expect(visibleText(r)).not.toContain(SECRET);
    } finally {
      // As on the runner, the step's own process got the signal; the runner kills the rest of its
      // process tree afterwards (actions/runner ProcessInvoker), so the test does: BuildKit cancels
      // a build whose client is gone.
      spawnSync('pkill', ['-f', 'slipway-e2e/cancel-build']);
      docker(['image', 'rm', '-f', 'slipway-e2e/cancel-build:dev-local'], { allowFail: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

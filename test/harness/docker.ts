import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The Docker client the end-to-end tests drive: Debian's (it speaks to the daemon's BuildKit
 * without buildx); SLIPWAY_DOCKER overrides. The engine itself is started by scripts/setup-engine.sh.
 */
export const DOCKER =
  process.env.SLIPWAY_DOCKER || (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');
export const DEBIAN_IMAGE = process.env.SLIPWAY_DEBIAN_IMAGE || 'slipway/debian:bookworm';
export const REGISTRY = '127.0.0.1:5000';

export function docker(
  args: string[],
  opts: { input?: string; allowFail?: boolean; env?: Record<string, string> } = {},
): string {
  const r = spawnSync(DOCKER, args, {
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...opts.env },
  });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(
      `${DOCKER} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`,
    );
  }
  return r.stdout.trim();
}

/** Fails the suite early, with the fix, when there is no engine or base image to test against. */
export function requireEngine(): void {
  try {
    execFileSync(DOCKER, ['info'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `No Docker engine answers to ${DOCKER}: run "bash scripts/setup-engine.sh" (or bash .ci/run) first.`,
    );
  }
  if (docker(['image', 'inspect', DEBIAN_IMAGE], { allowFail: true }) === '') {
    throw new Error(`Base image ${DEBIAN_IMAGE} is missing: run "bash scripts/bootstrap-images.sh" first.`);
  }
}

/** Removes every image tag (`<repository>:<tag>`) that matches. */
export function removeImageTags(match: RegExp): void {
  const tags = docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], { allowFail: true })
    .split('\n')
    .filter((t) => match.test(t));
  if (tags.length) docker(['image', 'rm', '-f', ...tags], { allowFail: true });
  docker(['image', 'prune', '-f'], { allowFail: true });
}

/**
 * Removes every image tag the end-to-end tests make: their own `slipway-e2e/` namespace and what
 * wrangler builds from deploy/ for them, under any registry prefix too (what is pushed is tagged
 * <registry>/<account>/<repository>). Run once after all e2e files: the tests leave no images behind.
 */
export function removeTestImages(): void {
  removeImageTags(/(^|\/)(slipway-e2e\/[^:]+|loa-gateway-rehearsal-gateway-rehearsal):[^:/]+$/);
}

/** Forgets what the daemon knows of a repository's images and all build cache: a fresh runner. */
export function forgetImages(repo: string): void {
  const ids = docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repo], { allowFail: true })
    .split('\n')
    .filter(Boolean);
  if (ids.length) docker(['image', 'rm', '-f', ...ids], { allowFail: true });
  docker(['builder', 'prune', '-af'], { allowFail: true });
  docker(['image', 'prune', '-f'], { allowFail: true });
}

/**
 * Removes the containers the Cloudflare emulator ran (label slipway.emulator=1) that are still there:
 * a file that failed or was killed before its emulator stopped leaves its instance running on the
 * host network (port 18789), where it would answer the next run's health checks. Returns their names.
 */
export function removeEmulatorContainers(): string[] {
  const names = docker(['ps', '-a', '--filter', 'label=slipway.emulator=1', '--format', '{{.Names}}'], {
    allowFail: true,
  })
    .split('\n')
    .filter(Boolean);
  if (names.length) docker(['rm', '-f', '-v', ...names], { allowFail: true });
  return names;
}

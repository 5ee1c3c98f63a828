import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudflareEmulator } from '../emulator/server.js';
import { DOCKER, REGISTRY, removeImageTags } from '../test/harness/docker.js';
import { buildReferenceImage, REFERENCE_WORKER, referenceAction } from '../test/harness/reference.js';
import type { ActionRun } from '../test/harness/runner.js';
import type { Figure } from './build-image.js';

const IMAGE = 'slipway-bench/rollback';

/** Polls the Worker's extended health until `done` holds; the seconds it took. */
async function until(url: string, done: (doc: Health) => boolean, limitS = 120): Promise<number> {
  const start = Date.now();
  for (;;) {
    const doc = await fetch(`${url}/health/extended`)
      .then((res) => res.json() as Promise<Health>)
      .catch(() => undefined);
    if (doc && done(doc)) return (Date.now() - start) / 1000;
    if (Date.now() - start > limitS * 1000)
      throw new Error(`not recovered after ${limitS} s: ${JSON.stringify(doc)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Health {
  status: string;
  version: { id: string; image?: string };
}

/**
 * Time to recover, through the deploy and rollback bundles against the emulator at its default
 * rollout pace: a bad image live → the recorded image serving again (the rollback's image rollout
 * and the container's restart included), beside a Worker-only rollback (same image, an older
 * Worker version) → the recorded Worker version answering.
 */
export async function benchRollback(): Promise<Figure[]> {
  const emu = new CloudflareEmulator({ docker: DOCKER, containerEnv: { LOA_DEFERRED_TOOLS: 'false' } });
  const temp = mkdtempSync(join(tmpdir(), 'slipway-bench-rollback-'));
  try {
    const api = await emu.start();
    const url = await emu.workers.open(REFERENCE_WORKER);
    const action = (name: 'deploy' | 'rollback', inputs: Record<string, string>) =>
      referenceAction(api, name, inputs, { RUNNER_TEMP: temp });
    const must = (run: ActionRun, what: string) => {
      if (run.code !== 0) throw new Error(`${what} failed: ${run.stdout.slice(-1500)}`);
      return run;
    };
    const good = buildReferenceImage(IMAGE, 'bench-good');
    const bad = buildReferenceImage(IMAGE, 'bench-bad');
    must(await action('deploy', { image: good, message: 'good' }), 'deploy good');
    await until(url, (doc) => doc.version.image === 'bench-good');
    const broken = must(await action('deploy', { image: bad, message: 'bad image' }), 'deploy bad');
    await until(url, (doc) => doc.version.image === 'bench-bad');
    // From the rollback's start until the recorded Worker (and, for the image, its image) answers.
    const recover = async (deployed: ActionRun, what: string, image?: string) => {
      const start = Date.now();
      const recorded = JSON.parse(deployed.outputs['previous-state']!).versions[0].version_id as string;
      const inputs = {
        'previous-state': deployed.outputs['previous-state']!,
        'deployed-state': deployed.outputs['deployed-state']!,
        reason: `bench: ${what}`,
      };
      must(await action('rollback', inputs), `rollback (${what})`);
      await until(url, (doc) => doc.version.id === recorded && (!image || doc.version.image === image));
      return (Date.now() - start) / 1000;
    };
    const imageRecovery = await recover(broken, 'bad image', 'bench-good');
    const workerOnly = must(
      await action('deploy', { image: good, message: 'worker only', vars: 'GATEWAY_ENV=bench' }),
      'deploy worker',
    );
    const workerRecovery = await recover(workerOnly, 'bad Worker');
    return [
      {
        name: 'bad image live → recorded image serving (Worker + image rollback)',
        value: imageRecovery,
        unit: 's',
      },
      {
        name: 'bad Worker live → recorded Worker serving (Worker-only rollback)',
        value: workerRecovery,
        unit: 's',
      },
      { name: 'image rollback / Worker-only rollback', value: imageRecovery / workerRecovery, unit: 'ratio' },
    ];
  } finally {
    await emu.stop();
    rmSync(temp, { recursive: true, force: true });
    removeImageTags(/^slipway-bench\/rollback:/);
    removeImageTags(new RegExp(`^${REGISTRY.replace(/\./g, '\\.')}/.*slipway-bench/rollback:`));
  }
}

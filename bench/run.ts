import { benchBuildImage, type Figure } from './build-image.js';
import { benchDeploy } from './deploy.js';
import { benchGradual } from './gradual.js';
import { benchPipelineCache } from './pipeline-cache.js';
import { benchRollback } from './rollback.js';
import { benchSizeBudget } from './size-budget.js';
import { benchSmokeTest } from './smoke-test.js';

/**
 * Runs every benchmark and prints figures, ratios and targets, each met or MISSED. A miss fails the
 * run only with SLIPWAY_BENCH_STRICT=1: these machines are noisy, and CI reports figures, not votes.
 */
const suites: Array<[string, () => Promise<Figure[]>]> = [
  ['build-image: stage artifact cache', benchBuildImage],
  [
    'pipeline: the root action on fresh runners, stage cache through the Actions cache service',
    benchPipelineCache,
  ],
  ['deploy/: core boot, hot reload, image sizes', benchDeploy],
  ['size-budget: a 1 GB image against docker save | gzip', benchSizeBudget],
  ['smoke-test: detection latency and load during an outage', benchSmokeTest],
  ['rollback: time to recover, Worker and image against Worker only', benchRollback],
  ['gradual: a version that fails under load, immediate against gradual', benchGradual],
];
/** `npm run bench -- deploy` runs only the suites whose title starts so. */
const only = process.argv[2];

let missed = 0;
for (const [title, fn] of suites.filter(([t]) => !only || t.startsWith(only))) {
  console.log(`\n== ${title}`);
  for (const f of await fn()) {
    const value = {
      bytes: `${Math.round(f.value)} bytes`,
      s: `${f.value.toFixed(2)} s`,
      MB: `${f.value.toFixed(1)} MB`,
      ratio: f.value.toFixed(4),
      count: `${Math.round(f.value)}`,
    }[f.unit];
    let verdict = '';
    if (f.target) {
      const ok = f.value <= f.target.max;
      if (!ok) missed++;
      verdict = ok ? `  (target <= ${f.target.max}: met)` : `  (target <= ${f.target.max}: MISSED)`;
    }
    console.log(`${f.name.padEnd(64)} ${value}${verdict}`);
  }
}
if (missed) {
  console.error(`\n${missed} benchmark target(s) MISSED.`);
  if (process.env.SLIPWAY_BENCH_STRICT === '1') process.exit(1);
}

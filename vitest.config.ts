import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { FileTimes } from './test/harness/file-times.js';

/**
 * End-to-end files share one Docker engine, its build cache, the local registry and a few fixed
 * ports, so they run in groups: a group starts when the one before it has ended, and the files of a
 * group run two at a time (the CI machine has two cores), handed out in the order listed, longest
 * first. Any two files of a group may run at the same time, so a group holds no two files where one
 * disturbs what the other checks:
 * - full-image and build-image empty the engine's whole build cache (a fresh runner): each runs
 *   beside files that never touch the engine, and after every file that builds, so a fixture's
 *   layers are built once and the other files' builds of it are cache hits. pipeline-cache,
 *   actions-cache and registry-cache empty it too, before every run; they run side by side because
 *   none checks anything that another file's emptying could make pass (it only ever makes a build
 *   colder), and each builds layers of its own (actions-cache and registry-cache build the
 *   slow-builder fixture with different build args, registry-cache into a registry repository of
 *   its own), so neither's cold build is warmed by the other's.
 * - pipeline and cloudflare both serve the gateway container on port 18789 and check wrangler's
 *   registry login; boot-test checks that no boot-test container is left (pipeline boots one) and
 *   how fast a failing boot fails, so it runs beside light files only; layer-store checks that no
 *   size-budget helper and no new volume appears (size-budget, pipeline, boot-test and images make
 *   them).
 * - hostile-inputs builds nothing; it boots one boot-test container (with its volume) for a second,
 *   so it runs beside neither boot-test nor layer-store.
 * Files that never use the engine (deploy, preview, rollback, emulator, smoke-test, report) and the
 * unit tests fill the second lane beside the long ones. An e2e file not listed here runs alone, last.
 */
const E2E_GROUPS: string[][] = [
  ['size-budget', 'pipeline', 'reference-system/images'],
  ['reference-system/cloudflare', 'layer-store', 'unit'],
  ['boot-test', 'smoke-test', 'cancel', 'wrangler-range'],
  ['reference-system/full-image', 'rollback', 'deploy', 'preview', 'hostile-inputs'],
  ['reference-system/production', 'emulator-traffic', 'emulator-rollouts', 'gradual-containers'],
  ['build-image', 'emulator', 'gradual'],
  ['pipeline-cache', 'actions-cache', 'registry-cache', 'report', 'cli', 'annotations'],
];
const LANES = Math.min(2, availableParallelism());
const e2eFile = (name: string) => `test/e2e/${name}.test.ts`;
const listed = E2E_GROUPS.flat().filter((n) => n !== 'unit');
const unitGroup = E2E_GROUPS.findIndex((g) => g.includes('unit')) + 1;

/** Files in the order E2E_GROUPS lists them; within a group vitest hands them to free workers in order. */
class ListedOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const path = relative(f.project.config.root, f.moduleId);
      const i = listed.findIndex((n) => e2eFile(n) === path);
      return [f.project.config.sequence.groupOrder, i === -1 ? listed.length : i] as const;
    };
    return sorted
      .map((f, i) => ({ f, i, r: rank(f) }))
      .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.i - b.i)
      .map((x) => x.f);
  }
}

const e2e = {
  globalSetup: ['test/harness/e2e-teardown.ts'],
  server: { deps: { inline: ['@actions/workflow-parser'] } },
  testTimeout: 600_000,
  hookTimeout: 600_000,
};

/** SLIPWAY_TEST_REPORT=<file>: also write each file's time there (.ci/run lists the slowest files). */
const report = process.env.SLIPWAY_TEST_REPORT;

export default defineConfig({
  test: {
    ...(report ? { reporters: ['default', new FileTimes(report)] } : {}),
    sequence: { sequencer: ListedOrder },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // GitHub's workflow parser imports its JSON schemas without an import attribute, which
          // Node refuses: let vite load it.
          server: { deps: { inline: ['@actions/workflow-parser'] } },
          maxWorkers: LANES,
          sequence: { groupOrder: unitGroup },
        },
      },
      ...E2E_GROUPS.map((group, i) => ({
        test: {
          ...e2e,
          name: `e2e-${i + 1}`,
          include: group.filter((n) => n !== 'unit').map(e2eFile),
          maxWorkers: LANES,
          sequence: { groupOrder: i + 1 },
        },
      })),
      {
        // Not yet placed in a group: alone, after all the others.
        test: {
          ...e2e,
          name: 'e2e-alone',
          include: ['test/e2e/**/*.test.ts'],
          exclude: listed.map(e2eFile),
          maxWorkers: 1,
          sequence: { groupOrder: E2E_GROUPS.length + 1 },
        },
      },
    ],
  },
});

import { execFileSync } from 'node:child_process';
import { removeEmulatorContainers, removeTestImages } from './docker.js';
import { ACTION_NODE } from './runner.js';

/** Says so when an emulator's container outlived its test: a leak worth a look, not silence. */
function sweepEmulatorContainers(when: string): void {
  const left = removeEmulatorContainers();
  if (left.length) console.warn(`e2e ${when}: removed emulator containers left running: ${left.join(', ')}`);
}

/**
 * vitest globalSetup of the e2e projects. Before the first file: no emulator container of an earlier,
 * killed run may still hold the gateway's port. After the last file: remove the images the tests
 * made and any emulator container a failed file left. Every e2e group (a project) names this file
 * and vitest sets up and tears down each project: the work is done once, at the first and the last.
 */
export default function setup(): () => void {
  const once = globalThis as { slipwayE2eSwept?: boolean; slipwayE2eImagesRemoved?: boolean };
  if (!once.slipwayE2eSwept) {
    once.slipwayE2eSwept = true;
    sweepEmulatorContainers('setup');
    const version = execFileSync(ACTION_NODE, ['--version'], { encoding: 'utf8' }).trim();
    console.log(`e2e: the bundles run on Node ${version} (${ACTION_NODE})`);
  }
  return () => {
    if (once.slipwayE2eImagesRemoved) return;
    once.slipwayE2eImagesRemoved = true;
    sweepEmulatorContainers('teardown');
    removeTestImages();
  };
}

import { removeTestImages } from './docker.js';

/**
 * vitest globalSetup of the e2e projects: after the last file, remove the images the tests made.
 * Every e2e group (a project) names this file and vitest tears each project down at the end of the
 * run: the images go once, after all of them.
 */
export default function setup(): () => void {
  return () => {
    const done = globalThis as { slipwayE2eImagesRemoved?: boolean };
    if (done.slipwayE2eImagesRemoved) return;
    done.slipwayE2eImagesRemoved = true;
    removeTestImages();
  };
}

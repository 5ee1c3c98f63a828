import { removeTestImages } from './docker.js';

/** vitest globalSetup of the e2e project: after the last file, remove the images the tests made. */
export default function setup(): () => void {
  return () => removeTestImages();
}

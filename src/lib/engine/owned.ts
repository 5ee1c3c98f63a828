import { spawnSync } from 'node:child_process';
import type { OwnedContainer } from '../core/io.js';

export type { OwnedContainer };

/**
 * `rm -f -v` (its anonymous volumes too), synchronously. `first` stops what still streams from the
 * container: the engine holds a container while it copies out of it, so a removal would wait on a
 * copy that a blocked event loop no longer reads.
 */
export function ownedContainer(bin: string, name: string, first?: () => void): OwnedContainer {
  return {
    name,
    removeNow: () => {
      first?.();
      spawnSync(bin, ['rm', '-f', '-v', name], { stdio: 'ignore' });
    },
  };
}

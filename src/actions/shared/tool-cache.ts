import * as cache from '@actions/cache';
import type { ToolCache } from '../../lib/wrangler/cli.js';

/** The Actions cache for installed tools, when the runner has one (GitHub-hosted runners do). */
export function actionsToolCache(): ToolCache | undefined {
  if (!cache.isFeatureAvailable()) return undefined;
  return {
    restore: async (dir, key) => (await cache.restoreCache([dir], key)) !== undefined,
    save: async (dir, key) => {
      try {
        await cache.saveCache([dir], key);
      } catch (err) {
        // Another job saved the same key first: that entry is as good as ours.
        if (err instanceof Error && err.name === 'ReserveCacheError') return;
        throw err;
      }
    },
  };
}

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, warn } from '../src/log.js';
import { ToolLoader } from './loader.js';
import { loadManifest, ManifestError } from './manifest.js';
import { STATE_FORMAT, writeState } from './state.js';

/**
 * The loader process the start script supervises. Exit 0: every tool reached a final state.
 * Exit 78 (EX_CONFIG): the manifest cannot be used; the supervisor does not restart it.
 */
const toolDir = process.env.LOA_TOOL_DIR || '/data/tools';
const manifestPath = process.env.LOA_TOOL_MANIFEST || new URL('./tools.json', import.meta.url).pathname;
const stateFile = join(toolDir, 'loader-state.json');

try {
  writeFileSync(join(toolDir, 'loader.pid'), `${process.pid}\n`);
  const loader = new ToolLoader({
    manifest: loadManifest(manifestPath),
    toolDir,
    stateFile,
    baseDelayMs: Number(process.env.LOA_TOOL_RETRY_BASE_MS ?? 2000),
    tries: Number(process.env.LOA_TOOL_TRIES ?? 3),
    log,
    warn,
  });
  log(`tool loader started (pid ${process.pid}, manifest ${manifestPath}, tools in ${toolDir})`);
  await loader.run();
} catch (err) {
  if (err instanceof ManifestError) {
    log(`tool manifest error: ${err.message}`);
    writeState(stateFile, {
      format: STATE_FORMAT,
      tools: {},
      complete: true,
      manifestError: err.message,
      updatedAt: new Date().toISOString(),
    });
    process.exit(78);
  }
  throw err;
}

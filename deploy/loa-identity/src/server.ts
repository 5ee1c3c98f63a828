import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { loadManifest, type Manifest } from '../tool-loader/manifest.js';
import type { LoaderState } from '../tool-loader/state.js';
import { extendedHealth } from './health.js';
import { log, warn } from './log.js';
import { rootDocument } from './routes.js';

const env = process.env;
const port = Number(env.PORT || 18789);
const toolDir = env.LOA_TOOL_DIR || '/data/tools';
const manifestPath = env.LOA_TOOL_MANIFEST || new URL('../tool-loader/tools.json', import.meta.url).pathname;
const deferredTools = (env.LOA_DEFERRED_TOOLS ?? 'true').toLowerCase() !== 'false';
const version = {
  id: env.LOA_VERSION_ID || env.IMAGE_TAG || 'local',
  commit: env.LOA_COMMIT || env.GIT_COMMIT || '',
};
const startedAt = Date.now();

/** Gateway configuration (LOA_CONFIG, mounted read-only): optional; a broken one makes the core unhealthy. */
let coreError: string | undefined;
const configPath = env.LOA_CONFIG || '/app/config/gateway.json';
if (existsSync(configPath)) {
  try {
    JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    coreError = `configuration ${configPath} is not valid JSON (${(err as Error).message})`;
    warn(coreError);
  }
}

let manifest: Manifest | undefined;
let manifestError: string | undefined;
if (deferredTools) {
  try {
    manifest = loadManifest(manifestPath);
  } catch (err) {
    manifestError = (err as Error).message;
    warn(`tools unknown: ${manifestError}`);
  }
}

function loaderState(): LoaderState | undefined {
  const file = join(toolDir, 'loader-state.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LoaderState;
  } catch {
    // Missing while the loader starts: tools report as pending. A corrupt file is the loader's to
    // set aside (it rebuilds state from the check commands), never the gateway's.
    return undefined;
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
  if (path === '/health') return send(res, 200, { status: 'ok' });
  if (path === '/health/extended' || path === '/sandbox-health') {
    const doc = extendedHealth({
      manifest,
      manifestError,
      state: deferredTools ? loaderState() : undefined,
      deferredTools,
      version,
      startedAt,
      now: Date.now(),
      coreError,
    });
    return send(res, doc.status === 'unhealthy' ? 503 : 200, doc);
  }
  if (path === '/') return send(res, 200, rootDocument(version));
  return send(res, 404, { error: `no route for ${path}` });
}

const server = createServer(handle);
server.keepAliveTimeout = 5_000;
server.listen(port, () => {
  log(
    `gateway listening on :${port} (version ${version.id}${version.commit ? ` @ ${version.commit.slice(0, 7)}` : ''}, deferred tools ${deferredTools ? 'on' : 'off'})`,
  );
});

// PID 1 under tini: stop promptly and cleanly on docker stop.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    log(`gateway stopping (${signal})`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2_000).unref();
  });
}

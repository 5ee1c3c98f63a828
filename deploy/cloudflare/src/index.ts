// The Worker in front of the LOA gateway container. Every request goes to the container (one
// instance, started on first use by @cloudflare/containers). /health/extended and the seed's
// /sandbox-health answer the container's own document with version.id set to this Worker's
// version id, so a smoke test can prove the version it deployed is the one answering.
import { Container, getContainer } from '@cloudflare/containers';

interface VersionMetadata {
  id: string;
  tag?: string;
  timestamp?: string;
}

interface Env {
  GATEWAY: DurableObjectNamespace<Gateway>;
  CF_VERSION_METADATA: VersionMetadata;
  LOA_DEFERRED_TOOLS?: string;
  GATEWAY_ENV?: string;
}

const HEALTH_PATHS = new Set(['/health/extended', '/sandbox-health']);

export class Gateway extends Container<Env> {
  defaultPort = 18789;
  sleepAfter = '15m';

  constructor(ctx: ConstructorParameters<typeof Container<Env>>[0], env: Env) {
    super(ctx, env);
    // Variables the container starts with: the Worker's vars of the same name, when set.
    this.envVars = Object.fromEntries(
      Object.entries({ LOA_DEFERRED_TOOLS: env.LOA_DEFERRED_TOOLS, LOA_ENV: env.GATEWAY_ENV }).filter(
        (e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '',
      ),
    );
  }
}

/** The container's extended health with version.id replaced by this Worker's version. */
async function extendedHealth(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  url.pathname = '/health/extended';
  const res = await getContainer(env.GATEWAY).fetch(new Request(url, request));
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('json')) return res;
  let doc: { version?: Record<string, unknown> } & Record<string, unknown>;
  try {
    doc = await res.json();
  } catch {
    return Response.json(
      { status: 'unhealthy', error: 'the container answered /health/extended with invalid JSON' },
      { status: 502 },
    );
  }
  const version = env.CF_VERSION_METADATA;
  doc.version = { ...doc.version, id: version.id, image: doc.version?.id };
  return Response.json(doc, {
    status: res.status,
    headers: { 'cache-control': 'no-store', 'x-worker-version': version.id },
  });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (HEALTH_PATHS.has(pathname)) return extendedHealth(request, env);
    return getContainer(env.GATEWAY).fetch(request);
  },
} satisfies ExportedHandler<Env>;

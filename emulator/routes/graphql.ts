import { answerQuery, unauthorized } from '../analytics.js';
import { send, type Call, type Router } from '../router.js';
import type { Emulated } from './context.js';

/**
 * Whether the request carries credentials: an API token (`Authorization: Bearer <token>`, cf-docs
 * analytics/graphql-api/getting-started/authentication/api-token-auth.mdx and the curl of
 * tutorials/querying-workers-metrics.mdx) or a Global API Key (X-Auth-Email and X-Auth-Key,
 * authentication/api-key-auth.mdx). The emulator knows no token: any present one is accepted (no
 * other API route checks one at all).
 */
function authenticated(call: Call): boolean {
  const header = call.req.headers;
  if (/^Bearer\s+\S+/i.test(header.authorization ?? '')) return true;
  return Boolean(header['x-auth-email'] && header['x-auth-key']);
}

/** The JSON body; undefined when it is not JSON (answered as a query error). */
function body(call: Call): unknown {
  try {
    return JSON.parse(call.body.toString()) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The GraphQL Analytics API: `POST /client/v4/graphql` (querying-workers-metrics.mdx; wrangler only
 * ever POSTs there: "Cloudflare API v4 doesn't allow GETs to /graphql", cli.js 132834-132846). Its
 * answers are GraphQL's, not the API envelope: `{data, errors}`, `errors` null on success
 * (analytics/graphql-api/errors.mdx). See analytics.ts.
 */
export function registerGraphqlRoutes(router: Router, { workers, log }: Emulated): void {
  router.on('POST', '/graphql', async (call) => {
    const answer = authenticated(call) ? await answerQuery(body(call), workers.invocations) : unauthorized();
    if (answer.detail) log?.(`graphql query refused (HTTP ${answer.status}): ${answer.detail.join('; ')}`);
    send(call.res, answer.status, answer.body);
  });
}

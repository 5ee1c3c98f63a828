import type { CloudflareApi } from '../wrangler/api.js';
import type { ErrorMeasure } from './gradual-plan.js';

/**
 * A Worker version's requests and errors over a window, from Workers analytics over GraphQL: the
 * `workersInvocationsAdaptive` dataset as Cloudflare documents it (cf-docs analytics/graphql-api/
 * tutorials/querying-workers-metrics.mdx: `viewer.accounts(filter: {accountTag})`, filter
 * `scriptName`, `datetime_geq`, `datetime_leq`, `sum { requests errors }`), narrowed to one version
 * by the `scriptVersion` dimension. Cloudflare's docs do not list that dimension (their nodes are
 * "discovered through introspection", cf-docs analytics/graphql-api/sampling.mdx); it is in
 * introspections of the live schema that others published (AccountWorkersInvocationsAdaptiveDimensions:
 * "… scriptName, scriptTag, scriptVersion, status …"). Should it go, the query answers a GraphQL
 * error, which fails the gate loudly rather than passing it.
 *
 * "Errors: Requests that returned a Script Threw Exception, Exceeded Resources, or Internal Error
 * invocation status" (cf-docs workers/observability/metrics-and-analytics.mdx): a 5xx the Worker
 * answers itself is not one; the health gate catches those. The data is sampled at volume and lags
 * by "the last few minutes": step-wait must be longer than that on Cloudflare.
 */
export const VERSION_ERRORS_QUERY = `query SlipwayVersionErrors($accountTag: string, $scriptName: string, $scriptVersion: string, $datetimeStart: string, $datetimeEnd: string) {
  viewer {
    accounts(filter: {accountTag: $accountTag}) {
      workersInvocationsAdaptive(limit: 100, filter: {scriptName: $scriptName, scriptVersion: $scriptVersion, datetime_geq: $datetimeStart, datetime_leq: $datetimeEnd}) {
        sum { requests errors }
        dimensions { scriptVersion }
      }
    }
  }
}`;

interface Answer {
  viewer?: {
    accounts?: Array<{
      workersInvocationsAdaptive?: Array<{ sum?: { requests?: number; errors?: number } }>;
    }>;
  };
}

/** The version's requests and errors between `since` and `until`, summed over the answer's rows. */
export async function versionErrors(
  api: CloudflareApi,
  target: { accountId: string; worker: string; versionId: string },
  since: Date,
  until: Date,
): Promise<ErrorMeasure> {
  const data = await api.graphql<Answer>(VERSION_ERRORS_QUERY, {
    accountTag: target.accountId,
    scriptName: target.worker,
    scriptVersion: target.versionId,
    datetimeStart: since.toISOString(),
    datetimeEnd: until.toISOString(),
  });
  const rows = data.viewer?.accounts?.[0]?.workersInvocationsAdaptive ?? [];
  return rows.reduce<ErrorMeasure>(
    (total, row) => ({
      requests: total.requests + (row.sum?.requests ?? 0),
      errors: total.errors + (row.sum?.errors ?? 0),
    }),
    { requests: 0, errors: 0 },
  );
}

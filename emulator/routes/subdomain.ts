import { readJson, reply, type Router } from '../router.js';
import type { Script } from '../state.js';
import { ACCOUNT, requireScript, type Emulated } from './context.js';

/** The account's workers.dev subdomain, and whether a script is served on it. */
export function registerSubdomainRoutes(router: Router, { state }: Emulated): void {
  router.on('GET', `${ACCOUNT}/workers/subdomain`, (call) => reply(call, { subdomain: state.subdomain }));
  // previews_enabled follows workers.dev unless set: "If not given, `preview_urls = workers_dev` is
  // the default" (cloudflare-docs workers/versions-and-deployments/preview-urls.mdx); wrangler omits
  // it when the config has no preview_urls, "Undefined lets the API compute the default"
  // (workers-sdk packages/wrangler/src/triggers/deploy.ts; cli.js 295166, 295244-295255), and warns
  // that Preview URLs then follow the workers.dev route on each deploy (cli.js 295272-295285).
  const subdomainOf = (script: Script) => ({
    enabled: script.workersDev,
    previews_enabled: script.previewsEnabled ?? script.workersDev,
  });
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/subdomain`, (call) =>
    reply(call, subdomainOf(requireScript(state, call))),
  );
  router.on('POST', `${ACCOUNT}/workers/scripts/:name/subdomain`, (call) => {
    const script = requireScript(state, call);
    const body = readJson<{ enabled?: boolean; previews_enabled?: boolean }>(call);
    script.workersDev = body.enabled ?? true;
    script.previewsEnabled = body.previews_enabled ?? script.workersDev;
    reply(call, subdomainOf(script));
  });
  // The Worker as a resource (the Workers API's GET workers/workers/:id, by name or id): wrangler
  // 4.1xx reads its `subdomain` before deploying to workers.dev (getWorkerSubdomain: subdomain.enabled,
  // previews_enabled, and url when present; cli.js of 4.164.0, 167593). 10007 when there is none.
  router.on('GET', `${ACCOUNT}/workers/workers/:name`, (call) => {
    const script = requireScript(state, call);
    reply(call, {
      id: script.name,
      name: script.name,
      created_on: script.createdOn,
      updated_on: script.versions.at(-1)?.createdOn ?? script.createdOn,
      logpush: false,
      observability: { enabled: false },
      subdomain: subdomainOf(script),
      tags: [],
      tail_consumers: [],
    });
  });
}

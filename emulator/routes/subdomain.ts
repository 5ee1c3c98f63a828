import { readJson, reply, type Router } from '../router.js';
import { ACCOUNT, requireScript, type Emulated } from './context.js';

/** The account's workers.dev subdomain, and whether a script is served on it. */
export function registerSubdomainRoutes(router: Router, { state }: Emulated): void {
  router.on('GET', `${ACCOUNT}/workers/subdomain`, (call) => reply(call, { subdomain: state.subdomain }));
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/subdomain`, (call) =>
    reply(call, { enabled: requireScript(state, call).workersDev, previews_enabled: false }),
  );
  router.on('POST', `${ACCOUNT}/workers/scripts/:name/subdomain`, (call) => {
    const script = requireScript(state, call);
    script.workersDev = readJson<{ enabled?: boolean }>(call).enabled ?? true;
    reply(call, { enabled: script.workersDev, previews_enabled: false });
  });
}

import { randomBytes } from 'node:crypto';
import type { ApplicationInput, Rollout } from '../containers.js';
import { CloudflareApiError, readJson, reply, type Call, type Router } from '../router.js';
import { ACCOUNT, type Emulated } from './context.js';

/** The account's container limits, as GET containers/me answers them. */
function accountLimits(account: string) {
  return {
    external_account_id: account,
    legacy_identity: account,
    limits: {
      account_id: account,
      vcpu_per_deployment: 4,
      memory_mib_per_deployment: 12288,
      disk_mb_per_deployment: 20000,
      total_vcpu: 100,
      total_memory_mib: 409600,
      node_group: 'default',
      ipv4s: 0,
      network_modes: ['public'],
    },
    locations: [],
    defaults: { vcpus: 0.0625, memory_mib: 256, disk_mb: 2000 },
  };
}

function registerApplicationRoutes(router: Router, { containers }: Emulated): void {
  router.on('GET', `${ACCOUNT}/containers/applications`, (call) => reply(call, containers.applications));
  router.on('POST', `${ACCOUNT}/containers/applications`, (call) => {
    const body = readJson<ApplicationInput>(call);
    if (!body.name || !body.configuration?.image)
      throw new CloudflareApiError(400, 10021, 'an application needs a name and configuration.image');
    if (containers.applications.some((application) => application.name === body.name))
      throw new CloudflareApiError(409, 10021, `an application named ${body.name} already exists`);
    reply(call, containers.create(body));
  });
  router.on('PATCH', `${ACCOUNT}/containers/applications/:id`, (call) => {
    const application = containers.modify(call.params.id!, readJson<Partial<ApplicationInput>>(call));
    if (!application) throw new CloudflareApiError(404, 10021, `no application ${call.params.id}`);
    reply(call, application);
  });
}

/**
 * POST rollouts: moves an application to a new configuration. The rollout completes at once; its
 * instances move to the new image: the running one stops, the next request starts the new one.
 */
async function createRollout({ containers }: Emulated, call: Call): Promise<void> {
  const application = containers.applications.find((candidate) => candidate.id === call.params.id);
  const imageBefore = application?.configuration.image;
  const rollout = containers.rollout(call.params.id!, readJson<Partial<Rollout>>(call));
  if (!rollout || !application) throw new CloudflareApiError(404, 10021, `no application ${call.params.id}`);
  if (rollout.target_configuration.image !== imageBefore) await containers.stopInstancesOf(application);
  reply(call, rollout);
}

function registerRolloutRoutes(router: Router, emulated: Emulated): void {
  router.on('POST', `${ACCOUNT}/containers/applications/:id/rollouts`, (call) =>
    createRollout(emulated, call),
  );
}

/**
 * Containers (wrangler's containers client: the same envelope under /accounts/:a/containers): the
 * account, registry credentials, applications and their rollouts.
 */
export function registerContainerRoutes(router: Router, emulated: Emulated): void {
  router.on('GET', `${ACCOUNT}/containers/me`, (call) => reply(call, accountLimits(call.params.account!)));
  router.on('POST', `${ACCOUNT}/containers/registries/:domain/credentials`, (call) => {
    // The local registry needs no login; the password is still a one-off value, as on Cloudflare.
    reply(call, {
      account_id: call.params.account,
      registry_host: call.params.domain,
      username: 'v1',
      password: randomBytes(24).toString('hex'),
    });
  });
  registerApplicationRoutes(router, emulated);
  registerRolloutRoutes(router, emulated);
}

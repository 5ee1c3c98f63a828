import { randomBytes } from 'node:crypto';
import type { Application, ApplicationInput, ContainerRuntime } from '../containers.js';
import { CloudflareApiError, readJson, reply, send, type Call, type Router } from '../router.js';
import {
  instanceJson,
  rolloutJson,
  RolloutRequestError,
  type CreateRolloutRequest,
  type Rollout,
} from '../rollouts.js';
import { ACCOUNT, type Emulated } from './context.js';

const APPLICATIONS = `${ACCOUNT}/containers/applications`;

/** UpdateApplicationRolloutRequest.action (wrangler cli.js 43606-43617: NEXT, PREVIOUS, REVERT). */
const ACTIONS = ['next', 'previous', 'revert'];

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

/** The path's application, or the API's 404 ("Response body when an Application is not found"). */
function requireApplication(containers: ContainerRuntime, call: Call): Application {
  const application = containers.find(call.params.id!);
  if (!application) throw new CloudflareApiError(404, 10021, `no application ${call.params.id}`);
  return application;
}

function requireRollout(containers: ContainerRuntime, application: Application, call: Call): Rollout {
  const rollout = containers
    .rolloutsOf(application)
    .find((candidate) => candidate.id === call.params.rollout);
  if (!rollout) throw new CloudflareApiError(404, 10021, `no rollout ${call.params.rollout}`);
  return rollout;
}

/** A refused rollout request is the API's 400 ("Can't update the application rollout because it has bad inputs"). */
async function asBadRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof RolloutRequestError) throw new CloudflareApiError(400, 10021, err.message);
    throw err;
  }
}

function registerApplicationRoutes(router: Router, { containers }: Emulated): void {
  router.on('GET', APPLICATIONS, async (call) => {
    await containers.sync();
    reply(call, containers.applications);
  });
  router.on('GET', `${APPLICATIONS}/:id`, async (call) => {
    await containers.sync();
    reply(call, requireApplication(containers, call));
  });
  router.on('POST', APPLICATIONS, (call) => {
    const body = readJson<ApplicationInput>(call);
    if (!body.name || !body.configuration?.image)
      throw new CloudflareApiError(400, 10021, 'an application needs a name and configuration.image');
    if (containers.applications.some((application) => application.name === body.name))
      throw new CloudflareApiError(409, 10021, `an application named ${body.name} already exists`);
    reply(call, containers.create(body, call.params.account));
  });
  router.on('PATCH', `${APPLICATIONS}/:id`, (call) => {
    const application = containers.modify(call.params.id!, readJson<Partial<ApplicationInput>>(call));
    if (!application) throw new CloudflareApiError(404, 10021, `no application ${call.params.id}`);
    reply(call, application);
  });
}

/**
 * Rollouts (wrangler's RolloutsService, cli.js 43900-44060): create (answered 201, as the OpenAPI's
 * createApplicationRollout), list ("limit: The amount of rollouts to return. By default it is all
 * of them", `last`: the rollout the previous page ended with; newest first here: the order is not
 * documented), get, and update with an action, answered as UpdateRolloutResponse
 * (workers-sdk containers-shared models/UpdateRolloutResponse.ts: { success, message ("Includes the
 * reason if this rollout action is not successful"), rollout }): an action the rollout's state
 * refuses is `success: false` with the reason; an action that is not in the enum is a 400.
 */
function registerRolloutRoutes(router: Router, { containers }: Emulated): void {
  const one = (application: Application, rollout: Rollout) =>
    rolloutJson(rollout, containers.instancesOf(application));
  router.on('POST', `${APPLICATIONS}/:id/rollouts`, async (call) => {
    const application = requireApplication(containers, call);
    const request = readJson<CreateRolloutRequest>(call);
    const rollout = await asBadRequest(() => containers.startRollout(application, request));
    send(call.res, 201, { success: true, errors: [], messages: [], result: one(application, rollout) });
  });
  router.on('GET', `${APPLICATIONS}/:id/rollouts`, async (call) => {
    const application = requireApplication(containers, call);
    await containers.sync();
    const limit = Number(call.url.searchParams.get('limit') ?? 'NaN');
    const newestFirst = containers.rolloutsOf(application).slice().reverse();
    const afterLast = newestFirst.findIndex((rollout) => rollout.id === call.url.searchParams.get('last'));
    const page = newestFirst.slice(afterLast + 1, limit > 0 ? afterLast + 1 + limit : undefined);
    reply(
      call,
      page.map((rollout) => one(application, rollout)),
    );
  });
  router.on('GET', `${APPLICATIONS}/:id/rollouts/:rollout`, async (call) => {
    const application = requireApplication(containers, call);
    await containers.sync();
    reply(call, one(application, requireRollout(containers, application, call)));
  });
  router.on('POST', `${APPLICATIONS}/:id/rollouts/:rollout`, async (call) => {
    const application = requireApplication(containers, call);
    const rollout = requireRollout(containers, application, call);
    const { action } = readJson<{ action?: string }>(call);
    if (!ACTIONS.includes(action ?? ''))
      throw new CloudflareApiError(400, 10021, `action must be one of ${ACTIONS.join(', ')}`);
    const outcome = await containers
      .actOn(application, rollout, action!)
      .then(() => ({ success: true, message: `${action} applied to rollout ${rollout.id}` }))
      .catch((err: Error) => {
        if (!(err instanceof RolloutRequestError)) throw err;
        return { success: false, message: err.message };
      });
    reply(call, { ...outcome, rollout: one(application, rollout) });
  });
}

/**
 * Container instances (the container-instances OpenAPI): instances-v2 answers an array,
 * the deprecated instances `{ instances: [...] }`, both with cursor result_info; one by id.
 */
function registerInstanceRoutes(router: Router, { containers }: Emulated): void {
  const listed = async (call: Call) => {
    const application = requireApplication(containers, call);
    await containers.sync();
    const perPage = Number(call.url.searchParams.get('per_page') ?? '100') || 100;
    const instances = containers.instancesOf(application).map((slot) => instanceJson(slot, application.id));
    return { instances: instances.slice(0, perPage), resultInfo: { per_page: perPage } };
  };
  router.on('GET', `${APPLICATIONS}/:id/instances-v2`, async (call) => {
    const { instances, resultInfo } = await listed(call);
    send(call.res, 200, {
      success: true,
      errors: [],
      messages: [],
      result: instances,
      result_info: resultInfo,
    });
  });
  router.on('GET', `${APPLICATIONS}/:id/instances`, async (call) => {
    const { instances, resultInfo } = await listed(call);
    send(call.res, 200, {
      success: true,
      errors: [],
      messages: [],
      result: { instances },
      result_info: resultInfo,
    });
  });
  router.on('GET', `${APPLICATIONS}/:id/instances/:instance`, async (call) => {
    const application = requireApplication(containers, call);
    await containers.sync();
    const slot = containers
      .instancesOf(application)
      .find((candidate) => candidate.id === call.params.instance);
    if (!slot) throw new CloudflareApiError(404, 10021, `no container instance ${call.params.instance}`);
    reply(call, instanceJson(slot, application.id));
  });
}

/**
 * Containers (wrangler's containers client: the same envelope under /accounts/:a/containers): the
 * account, registry credentials, applications, their rollouts and instances.
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
  registerInstanceRoutes(router, emulated);
}

import type { ContainerRuntime } from '../containers.js';
import { CloudflareApiError, type Call } from '../router.js';
import type { CloudflareState, Script } from '../state.js';
import type { WorkerHost } from '../workers.js';

/** The account part of every Workers and Containers API path. */
export const ACCOUNT = '/accounts/:account';

/** What the route modules act on: the account's Workers, their live URLs, the container runtime. */
export interface Emulated {
  state: CloudflareState;
  workers: WorkerHost;
  containers: ContainerRuntime;
  /** The emulator's log (EmulatorOptions.log). */
  log?: (message: string) => void;
}

/** The script the path's :name names, or the API's 10007 when the account has none by that name. */
export function requireScript(state: CloudflareState, call: Call): Script {
  const script = state.script(call.params.name!);
  if (!script)
    throw new CloudflareApiError(404, 10007, `This Worker does not exist on your account. [code: 10007]`);
  return script;
}

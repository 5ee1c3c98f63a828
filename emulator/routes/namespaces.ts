import { reply, type Router } from '../router.js';
import { ACCOUNT, type Emulated } from './context.js';

/** Durable Object namespaces: one per class of each script, created when first bound. */
export function registerNamespaceRoutes(router: Router, { state }: Emulated): void {
  router.on('GET', `${ACCOUNT}/workers/durable_objects/namespaces`, (call) =>
    reply(
      call,
      [...state.scripts.values()].flatMap((script) =>
        [...script.namespaces].map(([className, id]) => ({
          id,
          name: `${script.name}_${className}`,
          script: script.name,
          class: className,
        })),
      ),
    ),
  );
}

// The Worker in front of the container: every request goes to one instance of Hello, started on
// first use. The Worker's own version travels in x-worker-version, so a smoke test can check the
// Worker version it deployed as well as the image (x-app-version, set by the container).
import { Container, getContainer } from '@cloudflare/containers';

interface Env {
  HELLO: DurableObjectNamespace<Hello>;
  CF_VERSION_METADATA: { id: string };
}

export class Hello extends Container<Env> {
  defaultPort = 8080;
  sleepAfter = '10m';
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const res = await getContainer(env.HELLO).fetch(request);
    const answer = new Response(res.body, res);
    answer.headers.set('x-worker-version', env.CF_VERSION_METADATA.id);
    return answer;
  },
} satisfies ExportedHandler<Env>;

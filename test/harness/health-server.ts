import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status?: number;
  body?: string | object;
  delayMs?: number;
  headers?: Record<string, string>;
}

/** An extended-health document (healthy unless told otherwise). */
export function healthDoc(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'healthy',
    version: { id: 'v-test', commit: 'abc1234' },
    uptimeSeconds: 5,
    tools: { loading: false, complete: true, status: {} },
    capabilities: { semanticSearch: false, taskGraph: false, memoryStack: false },
    ...over,
  };
}

/**
 * A loopback HTTP server whose n-th answer (from 1) is scripted (with the time since it started and
 * the request's path): the smoke test's counterpart. Records each request's path, headers and
 * arrival time.
 */
export async function healthServer(script: (n: number, t: number, path: string) => Reply): Promise<{
  url: string;
  requests: Array<{ path: string; headers: IncomingHttpHeaders; at: number }>;
  close(): Promise<void>;
}> {
  const requests: Array<{ path: string; headers: IncomingHttpHeaders; at: number }> = [];
  const start = Date.now();
  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? '/', headers: req.headers, at: Date.now() - start });
    const r = script(requests.length, Date.now() - start, req.url ?? '/');
    const send = () => {
      if (res.destroyed) return;
      const body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? healthDoc());
      res.writeHead(r.status ?? 200, {
        'content-type': typeof r.body === 'string' ? 'text/html' : 'application/json',
        ...r.headers,
      });
      res.end(body);
    };
    if (r.delayMs) setTimeout(send, r.delayMs);
    else send();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

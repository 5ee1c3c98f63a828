/**
 * The `ctx.container` a Durable Object gets on Cloudflare, for Workers the emulator runs in
 * Miniflare. workerd's own local containers need the default Docker bridge and published ports,
 * which these machines forbid; this shim instead asks the emulator (over loopback) to run the live
 * container application's image on the host network, and sends `getTcpPort(port).fetch` to
 * 127.0.0.1:<port> through the emulator's relay (/__containers/proxy), where image faults apply
 * (an `unhealthy` image fault spoils its health answers). Its errors carry the phrases @cloudflare/containers recognises ("the container
 * is not listening", "container exited with unexpected exit code: N").
 *
 * Kept as module source: it runs inside workerd, not in Node. ADMIN and SCRIPT are prepended by
 * containerShimModule.
 */
const SHIM_SOURCE = `
const NO_INSTANCE = 'there is no container instance that can be provided to this durable object';

class ContainerShim {
  constructor(className, id) {
    this.className = className;
    this.id = id;
    this.running = false;
    this.started = undefined;
    this.exited = undefined;
  }
  start(config = {}) {
    this.running = true;
    this.started = fetch(ADMIN + '/start', {
      method: 'POST',
      body: JSON.stringify({ script: SCRIPT, className: this.className, id: this.id, env: config.env ?? {}, entrypoint: config.entrypoint }),
    }).then(async (r) => {
      const body = await r.json();
      if (!r.ok) throw new Error(body.error);
      return body;
    });
    this.exited = this.started.then(
      (c) => fetch(ADMIN + '/wait?container=' + encodeURIComponent(c.container)).then((r) => r.json()),
      (e) => { throw new Error(NO_INSTANCE + ': ' + e.message); },
    ).then((w) => {
      this.running = false;
      if (w.exitCode !== 0) throw new Error('Container exited with unexpected exit code: ' + w.exitCode);
    }, (e) => { this.running = false; throw e; });
    this.exited.catch(() => undefined);
  }
  monitor() {
    return this.exited ?? Promise.reject(new Error(NO_INSTANCE));
  }
  async destroy() {
    const c = await this.started?.catch(() => undefined);
    if (c) await fetch(ADMIN + '/stop?container=' + encodeURIComponent(c.container), { method: 'POST' });
    this.running = false;
  }
  signal(signo) {
    if (signo === 9 || signo === 15) void this.destroy();
  }
  getTcpPort(port) {
    const shim = this;
    return {
      async fetch(input, init) {
        const started = shim.started ? await shim.started.catch(() => undefined) : undefined;
        const request = new Request(input, init);
        const u = new URL(request.url);
        const notListening = (why) => new Error('The container is not listening on port ' + port + ' (' + why + ')');
        // WebSocket upgrades go straight to the container; the rest through the emulator's relay.
        if (request.headers.get('upgrade')) {
          try {
            return await fetch(new Request('http://127.0.0.1:' + port + u.pathname + u.search, request));
          } catch (e) {
            throw notListening(e && e.message);
          }
        }
        const relay = ADMIN + '/proxy?port=' + port + '&container=' + encodeURIComponent(started ? started.container : '') +
          '&path=' + encodeURIComponent(u.pathname + u.search);
        let res;
        try {
          res = await fetch(relay, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual', signal: request.signal });
        } catch (e) {
          throw notListening(e && e.message);
        }
        const refused = res.headers.get('x-slipway-proxy-error');
        if (refused !== null) throw notListening(refused);
        return res;
      },
      connect() {
        throw new Error('the Slipway emulator does not emulate raw TCP connect() to containers');
      },
    };
  }
  setInactivityTimeout() {}
  interceptOutboundHttp() {}
  interceptOutboundHttps() {}
  interceptAllOutboundHttp() {}
}

/** Gives a Durable Object class's instances a ctx.container before its constructor reads it. */
export function withContainer(Base, className) {
  return class extends Base {
    constructor(ctx, env) {
      if (ctx.container === undefined)
        Object.defineProperty(ctx, 'container', { value: new ContainerShim(className, ctx.id.toString()) });
      super(ctx, env);
    }
  };
}
`;

/** The shim module for one Worker: its source, told where the emulator's /__containers calls go. */
export function containerShimModule(adminBase: string, script: string): string {
  return `
const ADMIN = ${JSON.stringify(adminBase)};
const SCRIPT = ${JSON.stringify(script)};${SHIM_SOURCE}`;
}

// A tiny HTTP service: what a Slipway user brings. GET /healthz answers 200 "ok" (the plain health
// route the kit's default health check needs); every answer carries the image's version in
// x-app-version, so a smoke test can prove which image answers.
import { createServer } from 'node:http';
import process from 'node:process';
import console from 'node:console';

const port = Number(process.env.PORT || 8080);
const version = process.env.APP_VERSION || 'dev';

createServer((req, res) => {
  res.setHeader('x-app-version', version);
  if (req.url === '/healthz') return res.end('ok\n');
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from ${version}\n`);
}).listen(port, () => console.log(`listening on ${port} (version ${version})`));

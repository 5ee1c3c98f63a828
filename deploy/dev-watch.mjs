// The dev loop's Node watcher, used when entr is missing (or LOA_DEV_WATCHER=node): runs the gateway
// with tsx and restarts it when a .ts file under the source directory changes or appears. Each
// restart is one "[loa]" line with a timestamp, like the rest of the system's logs.
//   node dev-watch.mjs <source dir> <entry .ts>
import { spawn } from 'node:child_process';
import { watch } from 'node:fs';

const [srcDir, entry] = process.argv.slice(2);
const say = (m) => process.stdout.write(`[loa] ${new Date().toISOString()} ${m}\n`);
let child;
let timer;

function start(reason) {
  say(`gateway (re)started after a change${reason ? ` (${reason})` : ''}`);
  child = spawn('tsx', [entry], { stdio: 'inherit' });
}

function restart(file) {
  clearTimeout(timer);
  // Editors write in bursts: restart once the burst is over.
  timer = setTimeout(() => {
    const old = child;
    if (old && old.exitCode === null) {
      old.once('exit', () => start(file));
      old.kill('SIGTERM');
    } else start(file);
  }, 100);
}

watch(srcDir, { recursive: true }, (_event, file) => {
  if (file && file.endsWith('.ts') && !/(^|\/)(node_modules|dist)\//.test(file)) restart(file);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    child?.kill('SIGTERM');
    process.exit(0);
  });
}
start('');

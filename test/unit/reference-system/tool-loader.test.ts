import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ToolLoader } from '../../../deploy/loa-identity/tool-loader/loader.js';
import {
  installOrder,
  loadManifest,
  parseManifest,
  type ToolSpec,
} from '../../../deploy/loa-identity/tool-loader/manifest.js';
import { readState, writeState, STATE_FORMAT } from '../../../deploy/loa-identity/tool-loader/state.js';
import { ROOT } from '../../harness/runner.js';

const dirs: string[] = [];
const mk = () => {
  const d = mkdtempSync(join(tmpdir(), 'loa-loader-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A tool that installs a marker file and counts its installs in <dir>/<name>.installs. */
function tool(name: string, extra: Partial<ToolSpec> = {}): ToolSpec {
  return {
    name,
    check: `test -f "$LOA_TOOL_DIR/bin/${name}"`,
    install: `echo x >> "$LOA_TOOL_DIR/${name}.installs" && touch "$LOA_TOOL_DIR/bin/${name}"`,
    dependsOn: [],
    ...extra,
  };
}
const failing = (name: string, extra: Partial<ToolSpec> = {}) =>
  tool(name, {
    install: `echo x >> "$LOA_TOOL_DIR/${name}.installs"; echo "no network for ${name}" >&2; exit 7`,
    ...extra,
  });
const installs = (dir: string, name: string) =>
  existsSync(join(dir, `${name}.installs`))
    ? readFileSync(join(dir, `${name}.installs`), 'utf8')
        .trim()
        .split('\n').length
    : 0;

function loader(dir: string, tools: ToolSpec[], opts: { delays?: number[]; logs?: string[] } = {}) {
  return new ToolLoader({
    manifest: { tools },
    toolDir: dir,
    baseDelayMs: 100,
    sleep: async (ms) => void opts.delays?.push(ms),
    log: (m) => void opts.logs?.push(m),
  });
}

describe('install order', () => {
  it('puts dependencies first, otherwise keeps manifest order', () => {
    const order = installOrder({
      tools: [
        tool('ck', { dependsOn: ['rust'] }),
        tool('st'),
        tool('rust'),
        tool('br', { dependsOn: ['rust'] }),
      ],
    });
    expect(order.map((t) => t.name)).toEqual(['rust', 'ck', 'st', 'br']);
  });
  it('names the tools of a cycle', () => {
    expect(() =>
      installOrder({
        tools: [
          tool('a', { dependsOn: ['b'] }),
          tool('b', { dependsOn: ['c'] }),
          tool('c', { dependsOn: ['a'] }),
        ],
      }),
    ).toThrow('dependency cycle between tools: a -> b -> c -> a');
  });
  it('names an unknown dependency', () => {
    expect(() => installOrder({ tools: [tool('ck', { dependsOn: ['rustup'] })] })).toThrow(
      'tool ck depends on rustup, which is not in the manifest',
    );
  });
});

describe('manifest', () => {
  it('the shipped manifest names the seed tools and their capabilities, in a valid order', () => {
    const m = loadManifest(join(ROOT, 'deploy/loa-identity/tool-loader/tools.json'));
    expect(installOrder(m).map((t) => t.name)).toEqual([
      'rust-toolchain',
      'ck-search',
      'beads_rust',
      'sentence-transformers',
    ]);
    expect(
      Object.fromEntries(m.tools.filter((t) => t.capability).map((t) => [t.name, t.capability])),
    ).toEqual({
      'ck-search': 'semanticSearch',
      beads_rust: 'taskGraph',
      'sentence-transformers': 'memoryStack',
    });
  });
  it.each([
    ['{', /is not valid JSON/],
    ['{}', /has no "tools" array/],
    ['{"tools":[{"name":"a b","check":"x","install":"y"}]}', /needs a "name"/],
    ['{"tools":[{"name":"a","install":"y"}]}', /tools\[0\] \(a\) needs a "check" command/],
    [
      '{"tools":[{"name":"a","check":"x","install":"y","capability":"telepathy"}]}',
      /capability "telepathy" is not one of/,
    ],
    [
      '{"tools":[{"name":"a","check":"x","install":"y"},{"name":"a","check":"x","install":"y"}]}',
      /the name a is used twice/,
    ],
  ])('rejects %s', (text, message) => {
    expect(() => parseManifest(text, 'm.json')).toThrow(message);
  });
});

describe('ToolLoader', () => {
  it('installs in dependency order, tracks status, and ends complete', async () => {
    const dir = mk();
    const l = loader(dir, [tool('ck', { dependsOn: ['rust'], capability: 'semanticSearch' }), tool('rust')]);
    expect(l.getStatus()).toEqual({ rust: 'pending', ck: 'pending' });
    expect(l.isComplete()).toBe(false);
    await l.run();
    expect(l.getStatus()).toEqual({ rust: 'installed', ck: 'installed' });
    expect(l.isComplete()).toBe(true);
    const state = JSON.parse(readFileSync(join(dir, 'loader-state.json'), 'utf8'));
    expect(state).toMatchObject({
      format: STATE_FORMAT,
      complete: true,
      tools: { rust: { status: 'installed', attempts: 1 } },
    });
  });

  it('skips a tool whose check already passes', async () => {
    const dir = mk();
    writeFileSync(join(dir, 'marker'), '');
    const logs: string[] = [];
    await loader(dir, [tool('there', { check: `test -f "$LOA_TOOL_DIR/marker"` })], { logs }).run();
    expect(installs(dir, 'there')).toBe(0);
    expect(logs).toContain('tool there found installed (check passed)');
  });

  it('tries a failing install 3 times with exponential backoff, then marks it failed and its dependents blocked', async () => {
    const dir = mk();
    const delays: number[] = [];
    const logs: string[] = [];
    const l = loader(
      dir,
      [failing('rust'), tool('ck', { dependsOn: ['rust'] }), tool('br', { dependsOn: ['ck'] }), tool('st')],
      { delays, logs },
    );
    await l.run();
    expect(installs(dir, 'rust')).toBe(3);
    expect(delays).toEqual([100, 200]);
    expect(l.getStatus()).toEqual({ rust: 'failed', ck: 'blocked', br: 'blocked', st: 'installed' });
    const state = JSON.parse(readFileSync(join(dir, 'loader-state.json'), 'utf8'));
    expect(state.tools.rust).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: 'install exited 7: no network for rust',
    });
    expect(state.tools.ck.error).toBe('needs rust, which did not install');
    expect(logs).toContain('tool rust failed after 3 tries: install exited 7: no network for rust');
    expect(l.isComplete()).toBe(true);
  });

  it('counts an install whose check still fails as a failed try', async () => {
    const dir = mk();
    const l = loader(dir, [tool('liar', { install: 'true' })]);
    await l.run();
    expect(JSON.parse(readFileSync(join(dir, 'loader-state.json'), 'utf8')).tools.liar).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: 'install succeeded but its check still fails',
    });
  });

  it('after a restart with the same directory, reinstalls nothing', async () => {
    const dir = mk();
    await loader(dir, [tool('rust'), tool('ck', { dependsOn: ['rust'] })]).run();
    const logs: string[] = [];
    await loader(dir, [tool('rust'), tool('ck', { dependsOn: ['rust'] })], { logs }).run();
    expect([installs(dir, 'rust'), installs(dir, 'ck')]).toEqual([1, 1]);
    expect(logs).toContain('tool rust already installed (check passed), skipping');
  });

  it('resumes a tool that was mid-install when the loader died', async () => {
    const dir = mk();
    writeState(join(dir, 'loader-state.json'), {
      format: STATE_FORMAT,
      complete: false,
      updatedAt: new Date().toISOString(),
      tools: { rust: { status: 'installing', attempts: 1, updatedAt: new Date().toISOString() } },
    });
    const l = loader(dir, [tool('rust')]);
    await l.run();
    expect(l.getStatus()).toEqual({ rust: 'installed' });
  });

  it.each([
    ['truncated', '{"format":"loa-tool-loader/1","tools":{"rust":{"sta'],
    ['foreign', '{"version":2,"items":[]}'],
  ])('sets a %s state file aside with a warning and rebuilds state from the checks', async (_kind, body) => {
    const dir = mk();
    await loader(dir, [tool('rust')]).run();
    writeFileSync(join(dir, 'loader-state.json'), body);
    const logs: string[] = [];
    const l = new ToolLoader({
      manifest: { tools: [tool('rust')] },
      toolDir: dir,
      warn: (m) => void logs.push(m),
    });
    await l.run();
    expect(logs.find((m) => m.includes('was set aside as'))).toMatch(
      /loader-state\.json was set aside as .*loader-state\.json\.corrupt-.*rebuilding it from the check commands/,
    );
    expect(readdirSync(dir).filter((f) => f.includes('.corrupt-'))).toHaveLength(1);
    expect(installs(dir, 'rust')).toBe(1);
    expect(l.getStatus()).toEqual({ rust: 'installed' });
  });

  it('writes state atomically: valid JSON after every change and no temporary file left', async () => {
    const dir = mk();
    await loader(dir, [tool('a'), tool('b')]).run();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(readState(join(dir, 'loader-state.json'), () => undefined)?.complete).toBe(true);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../../harness/runner.js';
import { INPUTS, OUTPUTS, readInputs } from '../../../src/actions/build-image/inputs.js';
import * as bootTest from '../../../src/actions/boot-test/inputs.js';
import * as sizeBudget from '../../../src/actions/size-budget/inputs.js';
import * as deployInputs from '../../../src/actions/deploy/inputs.js';
import * as rollbackInputs from '../../../src/actions/rollback/inputs.js';
import * as smokeInputs from '../../../src/actions/smoke-test/inputs.js';
import * as reportInputs from '../../../src/actions/report/inputs.js';
import {
  foldLines,
  oneLineInputs,
  parseBoolean,
  parseChoice,
  parseKeyValues,
  parseList,
  parseOptionValue,
  parsePath,
} from '../../../src/lib/core/inputs.js';

interface ActionYml {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  runs: { using: string; main: string };
}
const actionYml = (name: string) =>
  parse(readFileSync(join(ROOT, 'actions', name, 'action.yml'), 'utf8')) as ActionYml;

describe('build-image action.yml and its entry agree', () => {
  const yml = actionYml('build-image');
  it('has exactly the inputs the entry reads', () => {
    expect(Object.keys(yml.inputs).sort()).toEqual(Object.values(INPUTS).sort());
  });
  it('has exactly the outputs the entry writes', () => {
    expect(Object.keys(yml.outputs).sort()).toEqual(Object.values(OUTPUTS).sort());
  });
  it('runs the committed bundle on node24', () => {
    expect(yml.runs).toEqual({ using: 'node24', main: '../../dist/build-image/index.js' });
  });
  it('reads defaults like the runner passes them (empty strings)', () => {
    const i = readInputs(() => '', { GITHUB_REPOSITORY: 'Acme/Gateway', HOME: '/home/u' });
    expect(i).toMatchObject({
      context: '.',
      file: '',
      image: 'acme/gateway',
      push: false,
      cache: 'auto',
      cacheStore: 'auto',
      cacheDir: '/home/u/.cache/slipway/stages',
      platforms: [],
      buildArgs: [],
      cacheRegistry: '',
      cacheRegistryToken: '',
    });
  });
  it('cache-store takes registry; cache-registry and its token are read, a token with a line break refused unseen', () => {
    const values: Record<string, string> = {
      'cache-store': 'registry',
      'cache-registry': 'ghcr.io/acme/slipway-cache',
      'cache-registry-token': 'ghp_canary',
    };
    expect(readInputs((name) => values[name] ?? '', {})).toMatchObject({
      cacheStore: 'registry',
      cacheRegistry: 'ghcr.io/acme/slipway-cache',
      cacheRegistryToken: 'ghp_canary',
    });
    const broken = () =>
      readInputs((name) => (name === 'cache-registry-token' ? 'ghp_x\nghp_canary' : ''), {});
    expect(broken).toThrow('Input "cache-registry-token" has a line break or a control character');
    expect(broken).not.toThrow(/ghp_/);
  });
});

describe.each([
  ['size-budget', sizeBudget.INPUTS, sizeBudget.OUTPUTS],
  ['boot-test', bootTest.INPUTS, { ...bootTest.OUTPUTS, container: bootTest.CONTAINER_OUTPUT }],
  ['deploy', deployInputs.INPUTS, deployInputs.OUTPUTS],
  ['rollback', rollbackInputs.INPUTS, rollbackInputs.OUTPUTS],
  ['smoke-test', smokeInputs.INPUTS, smokeInputs.OUTPUTS],
  ['report', reportInputs.INPUTS, reportInputs.OUTPUTS],
] as const)('%s action.yml and its entry agree', (name, inputs, outputs) => {
  const yml = actionYml(name);
  it('inputs', () => expect(Object.keys(yml.inputs).sort()).toEqual(Object.values(inputs).sort()));
  it('outputs', () => expect(Object.keys(yml.outputs).sort()).toEqual(Object.values(outputs).sort()));
  it('runs its bundle on node24', () => {
    expect(yml.runs.using).toBe('node24');
    expect(yml.runs.main).toBe(`../../dist/${name}/index.js`);
  });
});

describe('input parsers', () => {
  it('multiline lists skip blanks and comments; commas split when asked', () => {
    expect(parseList('a\n\n # c\n b ,c\n')).toEqual(['a', 'b ,c']);
    expect(parseList('linux/amd64, linux/arm64', { commas: true })).toEqual(['linux/amd64', 'linux/arm64']);
  });
  it('booleans', () => {
    expect(parseBoolean('push', 'TRUE', false)).toBe(true);
    expect(parseBoolean('push', '', true)).toBe(true);
    expect(() => parseBoolean('push', 'maybe', false)).toThrow('Input "push" is "maybe": use true or false.');
  });
  it('choices', () => {
    expect(parseChoice('cache', 'Stage', ['auto', 'stage'] as const, 'auto')).toBe('stage');
    expect(() => parseChoice('cache', 'x', ['auto', 'stage'] as const, 'auto')).toThrow(
      'Input "cache" is "x": use one of auto, stage.',
    );
  });
  it('KEY=VALUE lines keep "=" in values and allow empty values', () => {
    expect(parseKeyValues('build-args', 'A=1\nB=x=y\n\nC=\n# note')).toEqual([
      ['A', '1'],
      ['B', 'x=y'],
      ['C', ''],
    ]);
  });
  it("a multi-line value in the runner's KEY<<DELIM form keeps its lines", () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
    expect(parseKeyValues('secrets', `A=1\nTLS_KEY<<EOF\n${pem}\nEOF\nB=2`)).toEqual([
      ['A', '1'],
      ['TLS_KEY', pem],
      ['B', '2'],
    ]);
  });
  it.each([
    ['NOEQUALS-sk_live_canary', 'has no "="'],
    ['=value-sk_live_canary', 'does not start with a name'],
    ['1BAD=sk_live_canary', 'does not start with a name'],
    ['has space=sk_live_canary', 'does not start with a name'],
    ['MIIEvQIBADANsk_live_canary', 'has no "="'],
    ['KEY<<EOF\nsk_live_canary', 'opens a multi-line value .<<. whose closing line never comes'],
  ])('rejects %j naming the line and the problem, never its text', (line, problem) => {
    const error = (() => {
      try {
        parseKeyValues('secrets', `OK=1\n${line}`);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    })();
    expect(error).toMatch(new RegExp(`^Input "secrets" line 2 ${problem.replace(/[()"]/g, '.')}`));
    expect(error).not.toContain('sk_live_canary');
    expect(error).not.toContain('NOEQUALS');
  });
});

describe('free text that reaches the log stays on one line', () => {
  const canary = 'sk_live_line_canary';
  it.each([
    ['build-image', 'target', () => readInputs((n) => (n === 'target' ? `a\n${canary}` : ''), {})],
    [
      'size-budget',
      'image',
      () => sizeBudget.readInputs((n) => (n === 'image' ? `app:1\n${canary}` : ''), {}),
    ],
    ['boot-test', 'user', () => bootTest.readInputs((n) => ({ image: 'a', user: `1\r${canary}` })[n] ?? '')],
    ['deploy', 'api-token', () => deployInputs.readInputs((n) => (n === 'api-token' ? `t\n${canary}` : ''))],
    ['deploy', 'tag', () => deployInputs.readInputs((n) => (n === 'tag' ? `v1\n${canary}` : ''))],
    [
      'rollback',
      'to-version',
      () => rollbackInputs.readInputs((n) => (n === 'to-version' ? `x\n${canary}` : '')),
    ],
    [
      'smoke-test',
      'expect-version',
      () =>
        smokeInputs.readInputs(
          (n) => ({ url: 'https://a.example', 'expect-version': `v\n${canary}` })[n] ?? '',
        ),
    ],
    [
      'report',
      'status-context',
      () =>
        reportInputs.readInputs(
          (n) => ({ token: 't', state: 'success', 'status-context': `c\n${canary}` })[n] ?? '',
        ),
    ],
  ])('%s: a line break in "%s" is refused naming the input, never showing the value', (_, name, read) => {
    expect(read).toThrow(
      `Input "${name}" has a line break or a control character: give it on one line (the value is not shown).`,
    );
    expect(read).not.toThrow(canary);
  });
  it("blanks around a one-line value (a YAML block's last newline) are fine; list inputs keep their lines", () => {
    const get = oneLineInputs((n) => ({ a: ' v1\n', list: 'x\ny' })[n] ?? '', ['list']);
    expect(get('a')).toBe(' v1\n');
    expect(get('list')).toBe('x\ny');
  });
  it('folded free text: deploy message and report description', () => {
    expect(foldLines(' a\r\n::error::b\t\u0007c ')).toBe('a ::error::b c');
    expect(deployInputs.readInputs((n) => (n === 'message' ? 'fix\n::error::x' : '')).message).toBe(
      'fix ::error::x',
    );
    const report = reportInputs.readInputs(
      (n) => ({ token: 't', state: 'success', description: 'a\n::error::b' })[n] ?? '',
    );
    expect(report.description).toBe('a ::error::b');
  });
  it('an option-like wrangler environment or config is refused; a path can say ./', () => {
    expect(() => parseOptionValue('environment', '--help')).toThrow(
      'Input "environment" is "--help", which starts with "-": a program would read it as an option (a file: write ./--help).',
    );
    expect(() => deployInputs.readInputs((n) => (n === 'config' ? '-c.jsonc' : ''))).toThrow(
      /^Input "config" is "-c.jsonc"/,
    );
    expect(() => rollbackInputs.readInputs((n) => (n === 'environment' ? '-v' : ''))).toThrow(
      /^Input "environment"/,
    );
    expect(deployInputs.readInputs((n) => (n === 'environment' ? ' staging ' : '')).environment).toBe(
      'staging',
    );
  });
  it('a path starting with // (or /\\) names another host: refused', () => {
    expect(() => parsePath('path', '//evil.example/x', '/h')).toThrow(
      /^Input "path" starts with \/\/, which names another host/,
    );
    expect(() => parsePath('path', '/\\evil.example/x', '/h')).toThrow(/^Input "path" starts with \/\//);
    expect(parsePath('path', '/a//b', '/h')).toBe('/a//b');
  });

  it('the rollback reason: a line break cannot start a workflow command', () => {
    const get = (name: string) =>
      name === 'reason' ? 'smoke failed\n::error::injected\r\n::set-output name=x::y' : '';
    expect(rollbackInputs.readInputs(get).reason).toBe(
      'smoke failed ::error::injected ::set-output name=x::y',
    );
  });
});

describe('option-like and malformed image references are refused before any tool sees them', () => {
  it.each([
    ['build-image', () => readInputs((n) => (n === 'image' ? '--help' : ''), {})],
    ['size-budget', () => sizeBudget.readInputs((n) => (n === 'image' ? '-q' : ''), {})],
    ['boot-test', () => bootTest.readInputs((n) => (n === 'image' ? '--privileged' : ''))],
    ['deploy', () => deployInputs.readInputs((n) => (n === 'image' ? '--dry-run' : ''))],
    ['boot-test, a space', () => bootTest.readInputs((n) => (n === 'image' ? 'app:1 --rm' : ''))],
    [
      'size-budget, a baseline image',
      () => sizeBudget.readInputs((n) => ({ image: 'a', baseline: '-v' })[n] ?? '', {}),
    ],
  ])('%s', (_, read) => {
    expect(read).toThrow(/^Input "(image|baseline)" is not an image reference: give name\[:tag\]/);
  });
  it.each([
    'ghcr.io/acme/gateway:1.2',
    'localhost:5000/app@sha256:' + 'a'.repeat(64),
    'slipway/node:20',
    'App_1.2',
  ])('%s is accepted', (image) => {
    expect(bootTest.readInputs((n) => (n === 'image' ? image : '')).image).toBe(image);
  });
});

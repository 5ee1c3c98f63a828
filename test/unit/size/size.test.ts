import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cloudflareBytes,
  instanceDiskBytes,
  parseInstanceType,
  resolveBudget,
  INSTANCE_DISK_MB,
  INSTANCE_TYPES,
} from '../../../src/lib/size/budget.js';
import { INSTANCE_TYPE_LIMITS } from '../../../src/lib/core/instance-types.js';
import { ParallelGzipSizer } from '../../../src/lib/size/compress.js';
import { checkPolicy, findItem, type FileIndex } from '../../../src/lib/size/policy.js';
import {
  figureOf,
  readReport,
  renderComment,
  renderSummary,
  writeReport,
  COMMENT_MARKER,
  REPORT_FORMAT,
  type SizeReport,
} from '../../../src/lib/size/report.js';
import { formatBytes, parseSize } from '../../../src/lib/core/bytes.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('size strings: every unit stated exactly', () => {
  it.each([
    ['950MB', 950_000_000],
    ['1GB', 1_000_000_000],
    ['1.5GB', 1_500_000_000],
    ['2 GB', 2_000_000_000],
    ['10kb', 10_000],
    ['1TB', 1e12],
    ['900MiB', 900 * 2 ** 20],
    ['1GiB', 2 ** 30],
    ['64KiB', 65_536],
    ['0.5GiB', 2 ** 29],
    ['1TiB', 2 ** 40],
    ['123', 123],
    ['7B', 7],
  ])('%s is %d bytes', (s, bytes) => expect(parseSize('max-size', s)).toBe(bytes));

  it.each([['1M'], ['1G'], ['10 megs'], ['abc'], ['-5MB'], [''], ['1.5'], ['MB']])(
    '%j is a clear error',
    (s) => {
      expect(() => parseSize('max-size', s)).toThrow(
        /^Input "max-size" is ".*": (give a number of bytes or a size with its unit, e\.g\. 950MB or 1GB \(decimal\), 900MiB or 1GiB \(binary\)|a bare number is whole bytes)\.$/,
      );
    },
  );

  it('formats in decimal units', () => {
    expect([formatBytes(999), formatBytes(1_234_567), formatBytes(2e9), formatBytes(-13_500_000)]).toEqual([
      '999 B',
      '1.23 MB',
      '2.00 GB',
      '-13.5 MB',
    ]);
  });
});

describe("Cloudflare's gate and budgets", () => {
  it('mirrors wrangler: ceil(uncompressed × 1.1 + layers × 16 MiB)', () => {
    expect(cloudflareBytes(446_051_670, 11)).toBe(675_206_213);
    expect(cloudflareBytes(1, 0)).toBe(2);
    expect(cloudflareBytes(0, 1)).toBe(16 * 2 ** 20);
  });
  it.each([
    ['lite', 2e9],
    ['basic', 4e9],
    ['standard-1', 8e9],
    ['standard-2', 12e9],
    ['standard-3', 16e9],
    ['standard-4', 20e9],
  ] as const)('instance type %s has %d bytes of disk', (type, bytes) => {
    expect(instanceDiskBytes(type)).toBe(bytes);
    expect(resolveBudget(undefined, type).bytes).toBe(bytes);
    expect(INSTANCE_DISK_MB[type]).toBe(INSTANCE_TYPE_LIMITS[type].diskMb);
  });
  it('max-size wins over the instance type; lite is the default', () => {
    expect(resolveBudget(5, 'basic')).toEqual({ bytes: 5, source: 'max-size' });
    expect(resolveBudget(undefined, undefined).source).toMatch(
      /instance type lite \(2 GB disk\), the default/,
    );
  });
  it('reads instance types, and the old "standard" and "dev" as standard-1 and lite', () => {
    expect(parseInstanceType('Standard-2')).toBe('standard-2');
    expect(parseInstanceType('standard')).toBe('standard-1');
    expect(parseInstanceType('dev')).toBe('lite');
    expect(parseInstanceType('')).toBeUndefined();
    expect(() => parseInstanceType('huge')).toThrow(
      `Input "instance-type" is "huge": use one of ${INSTANCE_TYPES.join(', ')}.`,
    );
  });
});

describe('parallel chunked gzip size', () => {
  const sample = (n: number) => {
    const words = ['gateway', 'health', 'tool', 'loader', 'layer', 'slipway', 'budget', 'cloudflare'];
    let s = '';
    let x = 12345;
    while (s.length < n) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      s += `${words[x % words.length]}${x % 97} `;
    }
    return Buffer.from(s.slice(0, n));
  };
  it.each([
    { name: 'compressible text, many chunks', data: sample(3_000_000), chunkBytes: 64 * 1024 },
    { name: 'one partial chunk', data: sample(10_000), chunkBytes: 1024 * 1024 },
  ])('$name: within 1% of one gzip stream', async ({ data, chunkBytes }) => {
    const slots = new (class {
      n = 0;
      max = 0;
      async take() {
        this.n++;
        this.max = Math.max(this.max, this.n);
      }
      give() {
        this.n--;
      }
    })();
    const sizer = new ParallelGzipSizer(slots as never, { chunkBytes });
    for (let i = 0; i < data.length; i += 50_000) await sizer.write(data.subarray(i, i + 50_000));
    const ours = await sizer.end();
    const one = gzipSync(data, { level: 6 }).length;
    expect(Math.abs(ours - one) / one).toBeLessThan(0.01);
  });
  it('an empty stream is a valid empty gzip (20 bytes)', async () => {
    const sizer = new ParallelGzipSizer({ take: async () => undefined, give: () => undefined } as never, {});
    expect(await sizer.end()).toBe(gzipSync(Buffer.alloc(0)).length);
  });
});

describe('forbid and require', () => {
  const index: FileIndex = new Map([
    ['/usr/bin/node', { type: 'file', mode: 0o755 }],
    ['/usr/bin/jq', { type: 'file', mode: 0o755 }],
    ['/usr/local/bin/rg', { type: 'symlink', mode: 0o777 }],
    ['/usr/share/doc/git', { type: 'directory', mode: 0o755 }],
    ['/usr/bin/notes.txt', { type: 'file', mode: 0o644 }],
    ['/home/loa/.cargo', { type: 'directory', mode: 0o755 }],
    ['/home/loa/.cargo/bin/cargo', { type: 'file', mode: 0o755 }],
    ['/opt/venv/lib/python3.11/site-packages/torch', { type: 'directory', mode: 0o755 }],
    ['/opt/venv/lib/python3.11/site-packages/torch/__init__.py', { type: 'file', mode: 0o644 }],
    ['/etc/ssl/private/key.pem', { type: 'file', mode: 0o600 }],
  ]);
  const PATH = ['/usr/local/bin', '/usr/bin', '/bin'];
  it.each([
    ['node', '/usr/bin/node'],
    ['rg', '/usr/local/bin/rg'],
    ['notes.txt', '/usr/bin/notes.txt'],
    ['git', '/usr/share/doc/git'],
    ['torch', '/opt/venv/lib/python3.11/site-packages/torch'],
    ['~/.cargo', '/home/loa/.cargo'],
    ['~/.cargo/bin/cargo', '/home/loa/.cargo/bin/cargo'],
    ['/opt/venv', '/opt/venv'],
    ['/etc/ssl/private/*.pem', '/etc/ssl/private/key.pem'],
    ['**/site-packages/torch', '/opt/venv/lib/python3.11/site-packages/torch'],
    ['rustc', undefined],
    ['/usr/bin/rustc', undefined],
    ['~/.rustup', undefined],
    ['**/*.key', undefined],
  ])('%s → %s', (item, path) => {
    expect(findItem(index, PATH, item)).toBe(path);
  });
  it('a non-executable file on PATH is not a command, but is still found by name', () => {
    expect(findItem(index, PATH, 'notes.txt')).toBe('/usr/bin/notes.txt');
  });
  it('reports what is forbidden and present, and what is required and missing', () => {
    expect(
      checkPolicy(
        index,
        PATH,
        ['rustc', 'cargo', '~/.cargo', 'torch', 'sentence_transformers'],
        ['node', 'jq', 'git', 'rg', 'python3'],
      ),
    ).toEqual({
      forbidden: [
        { item: 'cargo', path: '/home/loa/.cargo/bin/cargo' },
        { item: '~/.cargo', path: '/home/loa/.cargo' },
        { item: 'torch', path: '/opt/venv/lib/python3.11/site-packages/torch' },
      ],
      missing: [{ item: 'python3' }],
    });
  });
});

describe('report', () => {
  const report: SizeReport = {
    format: REPORT_FORMAT,
    image: 'app:pr-7',
    imageId: 'sha256:abc',
    createdAt: '2026-11-22T00:00:00Z',
    measure: 'cloudflare',
    uncompressedBytes: 400e6,
    compressedBytes: 150e6,
    compressedSource: 'computed',
    cloudflareBytes: 600e6,
    layerCount: 5,
    budgetBytes: 2e9,
    budgetSource: 'instance type lite (2 GB disk), the default',
    layers: [],
    topLayers: [
      { sizeBytes: 120e6, createdBy: 'RUN apt-get install git' },
      { sizeBytes: 100e6, createdBy: '' },
    ],
    violations: [],
    baseline: { image: 'app:latest', bytes: 586.5e6, deltaBytes: 13.5e6 },
  };

  it('round-trips as a baseline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-report-'));
    dirs.push(dir);
    const path = join(dir, 'r.json');
    writeReport(path, report);
    const back = readReport(path);
    expect(back).toEqual(report);
    expect(figureOf(back, 'compressed')).toBe(150e6);
    expect(figureOf(back, 'cloudflare')).toBe(600e6);
  });

  it.each([
    ['not JSON', '{', /is not readable JSON/],
    ['foreign JSON', '{"format":"other"}', /is not a size-budget report \(format other\)/],
  ])('rejects a baseline that is %s', (_what, body, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-report-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'r.json'), body);
    expect(() => readReport(join(dir, 'r.json'))).toThrow(message);
  });

  it('the summary states the measure and unit, the bar, top layers and the delta', () => {
    const md = renderSummary(report);
    expect(md).toContain(
      "Measure: **cloudflare**, Cloudflare's gate (uncompressed × 1.1 + 16 MiB per layer). Sizes are decimal: 1 MB = 1,000,000 bytes.",
    );
    expect(md).toMatch(/`█{7}░{17}` \*\*600 MB\*\* of 2\.00 GB \(30\.0%\)/);
    expect(md).toContain('| 120 MB | `RUN apt-get install git` |');
    expect(md).toContain('| 100 MB | (base layer) |');
    expect(md).toContain('Delta against `app:latest`: **+13.5 MB** (cloudflare).');
  });

  it('the PR comment carries the hidden marker, the size table and the delta', () => {
    const md = renderComment({
      ...report,
      violations: [
        {
          kind: 'forbidden',
          item: 'rustc',
          path: '/usr/bin/rustc',
          message: 'forbidden rustc is in the image at /usr/bin/rustc',
        },
      ],
    });
    expect(md.startsWith(COMMENT_MARKER)).toBe(true);
    expect(md).toContain('| cloudflare | 600 MB | +13.5 MB |');
    expect(md).toContain('- ❌ forbidden rustc is in the image at /usr/bin/rustc');
  });
});

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './runner.js';

export const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');
export const TEST_TOKEN = 'slipway-test-token-5d41402abc4b2a76';
export const TEST_ACCOUNT = '0123456789abcdef0123456789abcdef';

export interface WranglerRun {
  code: number;
  output: string;
  /** The ND-JSON entries of WRANGLER_OUTPUT_FILE_PATH. */
  entries: Array<Record<string, unknown>>;
}

/**
 * Runs the project's real wrangler CLI against an emulator base URL, asynchronously (the emulator
 * usually runs in this same process: a synchronous spawn would block it and deadlock).
 */
export async function wrangler(
  apiBase: string,
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<WranglerRun> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-wrangler-'));
  const outFile = join(dir, 'output.ndjson');
  try {
    const child = spawn(WRANGLER, args, {
      cwd,
      env: {
        ...process.env,
        CLOUDFLARE_API_BASE_URL: apiBase,
        CLOUDFLARE_API_TOKEN: TEST_TOKEN,
        CLOUDFLARE_ACCOUNT_ID: TEST_ACCOUNT,
        CI: 'true',
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        WRANGLER_OUTPUT_FILE_PATH: outFile,
        XDG_CONFIG_HOME: dir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
    const entries = existsSync(outFile)
      ? readFileSync(outFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
    return { code, output, entries };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

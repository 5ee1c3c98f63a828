import { UserError } from './errors.js';

const DECIMAL: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };
const BINARY: Record<string, number> = { kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/**
 * A size with its unit stated exactly: KB, MB, GB, TB are decimal (950MB = 950,000,000 bytes), KiB,
 * MiB, GiB, TiB binary (900MiB = 943,718,400 bytes); a bare number is bytes. Anything else, a bare
 * "M" or "G" included (which would be ambiguous), is an error naming the input and the fix.
 */
export function parseSize(input: string, value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const unit = match?.[2]?.toLowerCase() ?? '';
  const factor = unit === '' ? 1 : (DECIMAL[unit] ?? BINARY[unit]);
  if (!match || factor === undefined) {
    throw new UserError(
      `Input "${input}" is "${value}": give a number of bytes or a size with its unit, e.g. 950MB or 1GB (decimal), 900MiB or 1GiB (binary).`,
    );
  }
  const bytes = Number(match[1]) * factor;
  if (unit === '' && !Number.isInteger(bytes))
    throw new UserError(`Input "${input}" is "${value}": a bare number is whole bytes.`);
  return Math.round(bytes);
}

/**
 * Decimal units, as Cloudflare and registries state sizes: "999 B", "1.23 MB", "-13.5 MB", "2.00 GB".
 * Not a finite number: "–".
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  const sign = bytes < 0 ? '-' : '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let amount = Math.abs(bytes);
  let unit = 0;
  while (amount >= 1000 && unit < units.length - 1) {
    amount /= 1000;
    unit++;
  }
  // Three significant figures from KB up: 1.23 MB, 13.5 MB, 600 MB.
  const digits = amount >= 100 ? 0 : amount >= 10 ? 1 : 2;
  return `${sign}${unit === 0 ? amount : amount.toFixed(digits)} ${units[unit]}`;
}

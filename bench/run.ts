import { benchBuildImage, type Figure } from './build-image.js';

/** Runs every benchmark, prints figures and ratios, and exits non-zero when a target is missed. */
const suites: Array<[string, () => Promise<Figure[]>]> = [
  ['build-image: stage artifact cache', benchBuildImage],
];

let missed = 0;
for (const [title, fn] of suites) {
  console.log(`\n== ${title}`);
  for (const f of await fn()) {
    const value =
      f.unit === 'bytes'
        ? `${Math.round(f.value)} bytes`
        : f.unit === 's'
          ? `${f.value.toFixed(2)} s`
          : f.value.toFixed(4);
    let verdict = '';
    if (f.target) {
      const ok = f.value <= f.target.max;
      if (!ok) missed++;
      verdict = ok ? `  (target <= ${f.target.max}: met)` : `  (target <= ${f.target.max}: MISSED)`;
    }
    console.log(`${f.name.padEnd(58)} ${value}${verdict}`);
  }
}
if (missed) {
  console.error(`\n${missed} benchmark target(s) missed.`);
  process.exit(1);
}

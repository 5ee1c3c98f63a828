// A picture of a job summary for the README: a summary the rehearsal wrote (Markdown, as GitHub
// receives it in $GITHUB_STEP_SUMMARY) rendered as GitHub-flavoured HTML by marked, in a page styled
// like GitHub's summary pane, then photographed with wkhtmltoimage (Debian's wkhtmltopdf package).
// Run by hand after a change to the summaries:
//   npx slipway rehearse --dir examples/hello-container --break=image
//   node --import tsx scripts/summary-picture.ts examples/hello-container/.slipway/rehearsal-v3.md docs/job-summary.png
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marked } from 'marked';

const STYLE = `
body { font: 14px/1.5 "DejaVu Sans", sans-serif; color: #1f2328; margin: 0; padding: 16px 24px; width: 960px; }
h2, h3 { font-size: 16px; margin: 20px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d1d9e0; }
table { border-collapse: collapse; margin: 8px 0 12px; }
th, td { border: 1px solid #d1d9e0; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
tr:nth-child(2n) td { background: #f6f8fa; }
code { font: 12px "DejaVu Sans Mono", monospace; background: #eff1f3; padding: 1px 4px; border-radius: 4px; }
a { color: #0969da; text-decoration: none; }
summary { font-weight: 600; margin: 6px 0; }
p { margin: 6px 0; }
`;

const [source, target] = process.argv.slice(2);
if (!source || !target) {
  console.error('usage: summary-picture.ts <summary.md> <picture.png>');
  process.exit(2);
}
const html = await marked.parse(readFileSync(source, 'utf8'), { gfm: true });
const dir = mkdtempSync(join(tmpdir(), 'slipway-picture-'));
try {
  const page = join(dir, 'summary.html');
  writeFileSync(page, `<!doctype html><meta charset="utf-8"><style>${STYLE}</style><body>${html}</body>`);
  execFileSync('wkhtmltoimage', ['--quiet', '--width', '1010', '--quality', '80', page, target], {
    stdio: 'inherit',
  });
  console.log(`wrote ${target}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

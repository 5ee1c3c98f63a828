import { cell, link } from '../core/markdown.js';
import { COMMENT_MARKER } from '../size/index.js';
import type { PreviewReport } from './preview.js';

/**
 * The pull request comment is one (found by size-budget's hidden marker), in two parts written by
 * different jobs: the size table (the checks job) and the preview (the preview job, between its own
 * hidden markers). Each run replaces the part it reports and keeps the other as it finds it.
 */
export const PREVIEW_START = '<!-- slipway:preview -->';
export const PREVIEW_END = '<!-- /slipway:preview -->';

/** The preview part of a comment body, markers included; undefined when it has none. */
export function previewPartOf(body: string): string | undefined {
  const start = body.indexOf(PREVIEW_START);
  const end = body.indexOf(PREVIEW_END, start);
  return start < 0 || end < 0 ? undefined : body.slice(start, end + PREVIEW_END.length);
}

/** The comment's new body: this run's parts, and the other part as the existing comment has it. */
export function composeComment(
  existing: string | undefined,
  parts: { size?: string; preview?: string },
): string {
  const kept = existing ?? '';
  const oldPreview = previewPartOf(kept);
  const oldSize = (oldPreview ? kept.replace(oldPreview, '') : kept).trim();
  const size = (parts.size ?? (oldSize || COMMENT_MARKER)).trim();
  const preview = parts.preview ?? oldPreview;
  return `${[size, preview].filter(Boolean).join('\n\n')}\n`;
}

/**
 * Why a version has no preview URL when deploy did not say: Cloudflare's rule ("Preview URLs are not
 * generated for Workers that implement a Durable Object, including Containers and Sandbox Workers",
 * cf-docs workers/versions-and-deployments/preview-urls.mdx, "Limitations"), or preview URLs off.
 */
export const NO_PREVIEW_URL = `Cloudflare generates no preview URL for a Worker that implements a Durable Object, including Containers (${link('Preview URLs, Limitations', 'https://developers.cloudflare.com/workers/versions-and-deployments/preview-urls/#limitations')}), nor when its preview URLs are off. The version was uploaded and serves no traffic; production, and the image its containers run, are untouched.`;

/** The preview part: its URL and version, or why there is none, and how the run went. */
export function previewSection(
  preview: PreviewReport,
  outcome: { state: string; description: string },
  run?: string,
): string {
  const verdict = outcome.state === 'success' ? '✅' : '❌';
  const version = preview.versionId ? ` of version \`${preview.versionId}\`` : '';
  const lines = [PREVIEW_START];
  if (preview.url)
    lines.push(
      `**Preview** ${verdict}${version}: ${link(preview.url, preview.url)} (no production traffic).`,
    );
  else if (preview.versionId)
    lines.push(`**Preview**${version}: no URL. ${cell(preview.note || NO_PREVIEW_URL)}`);
  else lines.push(`**Preview** ${verdict}: nothing was uploaded.`);
  lines.push('', `${verdict} ${outcome.description}${run ? ` (${run})` : ''}`, PREVIEW_END);
  return lines.join('\n');
}

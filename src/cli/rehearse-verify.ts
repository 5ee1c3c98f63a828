import { defaultHealthPath, type HealthMode } from '../lib/health/mode.js';
import type { RehearsalProject } from './project.js';

/** What production serves: the deployed Worker version and the container application's image. */
export interface Served {
  version: string;
  image: string;
}

/** What the health answer says about the version serving it; undefined when it says nothing. */
async function answeringVersion(project: RehearsalProject, res: Response): Promise<string | undefined> {
  const header = project.inputs['version-header'];
  if (header) return res.headers.get(header) ?? '(none)';
  if (project.inputs.health !== 'extended') return undefined;
  const doc = (await res.json().catch(() => ({}))) as { status?: string; version?: { id?: string } };
  return doc.status === 'healthy' ? doc.version?.id : `${doc.version?.id} (${doc.status})`;
}

/**
 * The rehearsal's last word: production is back on v2 (the emulator's deployment and container
 * application say so), and the Worker's URL answers its health path with a 2xx from that version
 * (when the project names where the version is: a header, or the extended document).
 */
export async function verifyProduction(
  project: RehearsalProject,
  url: string,
  good: Served,
  now: Served,
): Promise<{ ok: boolean; line: string }> {
  const mode = (project.inputs.health || 'basic') as HealthMode;
  const path = project.inputs['health-path'] || defaultHealthPath(mode);
  const res = await fetch(new URL(path, url), { signal: AbortSignal.timeout(30_000) });
  const answered = await answeringVersion(project, res);
  const allowed = [good.version, project.versionArg ? 'rehearsal-v2' : ''].filter(Boolean);
  const problems = [
    now.version !== good.version &&
      `the deployment is on ${now.version || 'nothing'}, not v2's ${good.version}`,
    now.image !== good.image && `the container runs ${now.image || 'nothing'}, not v2's ${good.image}`,
    !res.ok && `GET ${path} answered ${res.status}`,
    answered !== undefined && !allowed.includes(answered) && `GET ${path} came from ${answered}`,
  ].filter((problem): problem is string => Boolean(problem));
  const proof = answered === undefined ? '' : `, answered by ${answered}`;
  return problems.length
    ? { ok: false, line: `production is not v2: ${problems.join('; ')}` }
    : {
        ok: true,
        line: `${url} serves v2: Worker ${now.version} on image ${now.image} (GET ${path} → ${res.status}${proof})`,
      };
}

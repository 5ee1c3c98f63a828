import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export interface FileTime {
  file: string;
  /** The vitest project: unit, or the e2e group the file runs in. */
  group: string;
  /** Its tests and hooks, as vitest prints it. */
  seconds: number;
  state: string;
  /** Wall-clock start and end (ms since the epoch), for the groups' wall times. */
  start: number;
  end: number;
}

/**
 * A vitest reporter that writes every test file's time (hooks included, which vitest's JSON report
 * leaves out), group and state to a JSON file, for .ci/run's slowest files and group times.
 */
export class FileTimes implements Reporter {
  private readonly started = new Map<string, number>();
  private readonly ended = new Map<string, number>();

  constructor(private readonly path: string) {}

  onTestModuleStart(module: TestModule): void {
    this.started.set(module.moduleId, Date.now());
  }

  onTestModuleEnd(module: TestModule): void {
    this.ended.set(module.moduleId, Date.now());
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const times: FileTime[] = modules.map((m) => ({
      file: relative(m.project.config.root, m.moduleId),
      group: m.project.name,
      seconds: m.diagnostic().duration / 1000,
      state: m.state(),
      start: this.started.get(m.moduleId) ?? 0,
      end: this.ended.get(m.moduleId) ?? 0,
    }));
    writeFileSync(this.path, `${JSON.stringify(times, null, 1)}\n`);
  }
}

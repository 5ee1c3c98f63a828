import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { installOrder, type Manifest, type ToolSpec } from './manifest.js';
import { readState, STATE_FORMAT, writeState, type LoaderState, type ToolStatus } from './state.js';

export interface CommandResult {
  code: number;
  output: string;
}

export interface LoaderOptions {
  manifest: Manifest;
  /** Where tools install and the state lives ($LOA_TOOL_DIR). */
  toolDir: string;
  stateFile?: string;
  /** Install tries per tool (default 3). */
  tries?: number;
  /** First backoff delay; doubles after each failed try (default 2000 ms). */
  baseDelayMs?: number;
  log?: (message: string) => void;
  warn?: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /** Per-command time limit (default 30 min: toolchains are slow). */
  commandTimeoutMs?: number;
}

/** Runs a shell command with the tool directory on PATH; output is kept (its tail explains failures). */
export function runShell(command: string, toolDir: string, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: {
        ...process.env,
        LOA_TOOL_DIR: toolDir,
        PATH: `${join(toolDir, 'bin')}:${process.env.PATH ?? ''}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n(timed out after ${Math.round(timeoutMs / 1000)} s)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, output: err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop()?.trim().slice(0, 300) ?? '';
}

/**
 * Installs the manifest's tools in dependency order after the core has booted: skips those whose
 * check passes, tries an install up to `tries` times with exponential backoff, marks a tool that
 * still fails `failed` and its dependents `blocked`. Its state is written atomically after every
 * change, so a restart (same volume) resumes without reinstalling.
 */
export class ToolLoader {
  private readonly order: ToolSpec[];
  private readonly stateFile: string;
  private state: LoaderState;
  private readonly log: (m: string) => void;
  private readonly warn: (m: string) => void;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: LoaderOptions) {
    this.order = installOrder(opts.manifest);
    this.stateFile = opts.stateFile ?? join(opts.toolDir, 'loader-state.json');
    this.log = opts.log ?? (() => undefined);
    this.warn = opts.warn ?? this.log;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const now = new Date().toISOString();
    this.state = {
      format: STATE_FORMAT,
      complete: false,
      updatedAt: now,
      tools: Object.fromEntries(
        this.order.map((t) => [t.name, { status: 'pending' as ToolStatus, attempts: 0, updatedAt: now }]),
      ),
    };
  }

  getStatus(): Record<string, ToolStatus> {
    return Object.fromEntries(Object.entries(this.state.tools).map(([k, v]) => [k, v.status]));
  }

  isComplete(): boolean {
    return this.state.complete;
  }

  private set(name: string, status: ToolStatus, extra: { attempts?: number; error?: string } = {}): void {
    const prev = this.state.tools[name]!;
    const now = new Date().toISOString();
    this.state.tools[name] = {
      status,
      attempts: extra.attempts ?? prev.attempts,
      ...(extra.error ? { error: extra.error } : {}),
      updatedAt: now,
    };
    this.state.updatedAt = now;
    this.state.complete = Object.values(this.state.tools).every((t) =>
      ['installed', 'failed', 'blocked'].includes(t.status),
    );
    writeState(this.stateFile, this.state);
  }

  private check(t: ToolSpec): Promise<boolean> {
    return runShell(t.check, this.opts.toolDir, this.opts.commandTimeoutMs ?? 60_000).then(
      (r) => r.code === 0,
    );
  }

  async run(): Promise<void> {
    // Tools install into <dir>/bin, which commands get on PATH.
    mkdirSync(join(this.opts.toolDir, 'bin'), { recursive: true });
    const prior = readState(this.stateFile, this.warn);
    for (const t of this.order) {
      const p = prior?.tools[t.name];
      if (p) this.state.tools[t.name] = { ...p, status: p.status === 'installed' ? 'installed' : 'pending' };
    }
    writeState(this.stateFile, this.state);

    const tries = this.opts.tries ?? 3;
    const base = this.opts.baseDelayMs ?? 2000;
    for (const t of this.order) {
      const stuck = (t.dependsOn ?? []).filter((d) => this.state.tools[d]?.status !== 'installed');
      if (stuck.length) {
        this.set(t.name, 'blocked', { error: `needs ${stuck.join(', ')}, which did not install` });
        this.log(`tool ${t.name} blocked: needs ${stuck.join(', ')}`);
        continue;
      }
      const wasInstalled = this.state.tools[t.name]!.status === 'installed';
      if (await this.check(t)) {
        this.set(t.name, 'installed');
        this.log(
          wasInstalled
            ? `tool ${t.name} already installed (check passed), skipping`
            : `tool ${t.name} found installed (check passed)`,
        );
        continue;
      }
      let error = '';
      let attempts = 0;
      for (let attempt = 1; attempt <= tries; attempt++) {
        attempts = attempt;
        this.set(t.name, 'installing', { attempts });
        this.log(`tool ${t.name} installing (try ${attempt}/${tries})`);
        const started = Date.now();
        const r = await runShell(t.install, this.opts.toolDir, this.opts.commandTimeoutMs ?? 30 * 60_000);
        if (r.code === 0 && (await this.check(t))) {
          this.set(t.name, 'installed', { attempts });
          this.log(`tool ${t.name} installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          break;
        }
        error =
          r.code === 0
            ? 'install succeeded but its check still fails'
            : `install exited ${r.code}: ${lastLine(r.output)}`;
        if (attempt < tries) {
          const delay = base * 2 ** (attempt - 1);
          this.log(`tool ${t.name} try ${attempt}/${tries} failed (${error}); retrying in ${delay} ms`);
          await this.sleep(delay);
        }
      }
      if (this.state.tools[t.name]!.status !== 'installed') {
        this.set(t.name, 'failed', { attempts, error });
        this.log(`tool ${t.name} failed after ${attempts} tries: ${error}`);
      }
    }
    this.state.complete = true;
    writeState(this.stateFile, this.state);
    const counts = Object.values(this.state.tools).reduce<Record<string, number>>(
      (c, s) => ((c[s.status] = (c[s.status] ?? 0) + 1), c),
      {},
    );
    this.log(
      `tool loading complete: ${
        Object.entries(counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ') || 'no tools'
      }`,
    );
  }
}

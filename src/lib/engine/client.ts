import { spawn } from 'node:child_process';
import { createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { childEnv, type Runner } from '../core/exec.js';
import type { Env } from '../core/io.js';
import { lastLine } from '../core/text.js';
import { buildArgEnv, buildArgs, type BuildSpec } from './build-command.js';
import { builderEnv, debugArgs, type Engine } from './engine.js';

export interface BuildResult {
  code: number;
  output: string;
}

/**
 * The engine operations build-image needs, over a Runner. With debug logging on (`env`), the
 * commands it echoes (build, push) carry the client's debug option and none is silent.
 */
export class DockerClient {
  /** The client's global debug option, or none (debugArgs). */
  private readonly debug: string[];

  constructor(
    readonly engine: Engine,
    private readonly run: Runner,
    env: Env = {},
  ) {
    this.debug = debugArgs(engine.kind, env);
  }

  /** Runs a build, echoing its output to the log and capturing it (BuildKit writes to stderr). */
  async build(spec: BuildSpec, options: { silent?: boolean } = {}): Promise<BuildResult> {
    const lines: string[] = [];
    const result = await this.run(this.engine.bin, [...this.debug, ...buildArgs(this.engine.builder, spec)], {
      env: { ...buildArgEnv(spec), ...builderEnv(this.engine.builder), ...spec.cache?.gha?.runtime },
      silent: options.silent && !this.debug.length,
      onLine: (line) => void lines.push(line),
    });
    return { code: result.code, output: lines.join('\n') };
  }

  /** Writes a directory of an image to a gzip'd tar (entries named after the directory). Returns bytes. */
  async exportPath(image: string, path: string, archive: string): Promise<number> {
    const created = await this.run(this.engine.bin, ['create', image, '/slipway-export'], { silent: true });
    if (created.code !== 0)
      throw new Error(`could not create a container of ${image}: ${lastLine(created.stderr)}`);
    const id = lastLine(created.stdout);
    try {
      const child = spawn(this.engine.bin, ['cp', `${id}:${path}`, '-'], {
        env: childEnv({}, this.engine.bin),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => resolve(code ?? 1));
      });
      await pipeline(child.stdout, createGzip({ level: 6 }), createWriteStream(archive));
      const code = await exited;
      if (code !== 0) throw new Error(lastLine(stderr) || `${this.engine.bin} cp exited ${code}`);
      return statSync(archive).size;
    } finally {
      await this.run(this.engine.bin, ['rm', '-f', id], { silent: true });
    }
  }

  async removeImages(refs: string[]): Promise<void> {
    if (refs.length) await this.run(this.engine.bin, ['image', 'rm', '-f', ...refs], { silent: true });
  }

  async inspect(image: string, format: string): Promise<string | undefined> {
    const result = await this.run(this.engine.bin, ['image', 'inspect', '--format', format, image], {
      silent: true,
    });
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  async push(ref: string): Promise<void> {
    const result = await this.run(this.engine.bin, [...this.debug, 'push', ref], {});
    if (result.code !== 0)
      throw new Error(`push of ${ref} failed: ${lastLine(result.stderr || result.stdout)}`);
  }
}

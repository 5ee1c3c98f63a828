import { DockerfileParser } from 'dockerfile-ast';
import { UserError } from '../core/errors.js';

/** One instruction, with its continuation lines joined and its flags split out. */
export interface Instruction {
  keyword: string;
  /** Arguments without flags; exec form (["a", "b"]) is decoded. */
  args: string[];
  /** Flags in order, e.g. [["from","builder"],["mount","type=cache,target=/x"]]. */
  flags: Array<[string, string]>;
  /** Normalised text (keyword, flags, arguments; whitespace folded): what a cache key hashes. */
  text: string;
  /** 0-based first and last source lines. */
  startLine: number;
  endLine: number;
}

export interface Stage {
  index: number;
  /** Stage name, lower-cased, or undefined for an unnamed stage. */
  name?: string;
  /** The base reference as written (may contain ${ARG}). */
  from: string;
  fromInstruction: Instruction;
  /** Instructions after FROM, up to the next FROM. */
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults. */
  globalArgs: Array<{ name: string; value?: string }>;
  stages: Stage[];
  /** Every comment, 0-based line and text after "#" (directives such as slipway:cache live here). */
  comments: Array<{ line: number; text: string }>;
  /** Source lines, for rewriting. */
  lines: string[];
}

function fold(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function decodeArgs(keyword: string, content: string, plain: string[]): string[] {
  const t = content.trim();
  if (t.startsWith('[') && ['COPY', 'ADD', 'RUN', 'CMD', 'ENTRYPOINT', 'VOLUME', 'SHELL'].includes(keyword)) {
    try {
      const v: unknown = JSON.parse(t);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch {
      /* not exec form after all: shell form that starts with "[" */
    }
  }
  return plain;
}

export function parseDockerfile(source: string, file = 'Dockerfile'): Dockerfile {
  const doc = DockerfileParser.parse(source);
  const lines = source.split(/\r?\n/);
  const stages: Stage[] = [];
  const globalArgs: Dockerfile['globalArgs'] = [];

  for (const ins of doc.getInstructions()) {
    const keyword = ins.getKeyword().toUpperCase();
    const range = ins.getRange();
    const flags: Array<[string, string]> =
      'getFlags' in ins && typeof ins.getFlags === 'function'
        ? (ins.getFlags() as Array<{ getName(): string; getValue(): string | null }>).map((f) => [
            f.getName().toLowerCase(),
            f.getValue() ?? '',
          ])
        : [];
    const content = ins.getArgumentsContent() ?? '';
    const args = decodeArgs(
      keyword,
      content,
      ins.getArguments().map((a) => a.getValue()),
    );
    const instruction: Instruction = {
      keyword,
      args,
      flags,
      text: fold([keyword, ...flags.map(([k, v]) => `--${k}=${v}`), content].join(' ')),
      startLine: range.start.line,
      endLine: range.end.line,
    };

    if (keyword === 'FROM') {
      const from = args[0];
      if (!from)
        throw new UserError(
          `${file}:${range.start.line + 1}: FROM has no image: write FROM <image> [AS <name>].`,
        );
      const as = args.length >= 3 && args[1]?.toUpperCase() === 'AS' ? args[2]?.toLowerCase() : undefined;
      stages.push({ index: stages.length, name: as, from, fromInstruction: instruction, instructions: [] });
    } else if (stages.length === 0) {
      if (keyword !== 'ARG') {
        throw new UserError(
          `${file}:${range.start.line + 1}: ${keyword} before the first FROM: only ARG may come before FROM.`,
        );
      }
      for (const a of args) {
        const eq = a.indexOf('=');
        globalArgs.push(eq < 0 ? { name: a } : { name: a.slice(0, eq), value: unquote(a.slice(eq + 1)) });
      }
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  if (stages.length === 0)
    throw new UserError(`${file} has no FROM instruction: it is not a Dockerfile, or it is empty.`);

  // Every line that starts with "#" is a comment (the parser reads a first-line "# key=value" as a
  // parser directive, which a slipway:cache line is not).
  const comments = lines.flatMap((l, line) => {
    const m = /^\s*#(.*)$/.exec(l);
    return m ? [{ line, text: m[1]!.trim() }] : [];
  });
  return { globalArgs, stages, comments, lines };
}

function unquote(v: string): string {
  return /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v;
}

/** The ARG declarations of an instruction list: name and default (when given). */
export function argDeclarations(instructions: Instruction[]): Array<{ name: string; value?: string }> {
  return instructions
    .filter((i) => i.keyword === 'ARG')
    .flatMap((i) =>
      i.args.map((a) => {
        const eq = a.indexOf('=');
        return eq < 0 ? { name: a } : { name: a.slice(0, eq), value: unquote(a.slice(eq + 1)) };
      }),
    );
}

/** Expands $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alt} with the given variables. */
export function expandVars(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, braced, op, word, bare) => {
      const name = (braced ?? bare) as string;
      const v = vars[name];
      if (op === '-') return v ? v : (word as string);
      if (op === '+') return v ? (word as string) : '';
      return v ?? '';
    },
  );
}

/** The stage a reference (name or index) points at, if it is a stage of this file before `before`. */
export function findStage(df: Dockerfile, ref: string, before = Infinity): Stage | undefined {
  const r = ref.toLowerCase();
  const s = /^\d+$/.test(r) ? df.stages[Number(r)] : df.stages.find((st) => st.name === r);
  return s && s.index < before ? s : undefined;
}

/** Stages another stage depends on: its base (FROM <stage>), COPY --from and RUN --mount from=. */
export function stageDependencies(df: Dockerfile, stage: Stage): Stage[] {
  const deps = new Map<number, Stage>();
  const add = (ref: string | undefined) => {
    const s = ref ? findStage(df, ref, stage.index) : undefined;
    if (s) deps.set(s.index, s);
  };
  add(stage.from);
  for (const i of stage.instructions) {
    for (const [k, v] of i.flags) {
      if (k === 'from') add(v);
      if (k === 'mount') add(mountOptions(v).from);
    }
  }
  return [...deps.values()];
}

/** Parses a --mount value (type=bind,from=x,source=y,target=z). */
export function mountOptions(value: string): Record<string, string> {
  return Object.fromEntries(
    value.split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return eq < 0 ? [kv.trim(), 'true'] : [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()];
    }),
  );
}

/** The stage a build ends at: the named target, else the last stage. */
export function targetStage(df: Dockerfile, target: string | undefined, file = 'Dockerfile'): Stage {
  if (!target) return df.stages[df.stages.length - 1]!;
  const s = findStage(df, target);
  if (!s) {
    const names = df.stages.map((st) => st.name ?? String(st.index)).join(', ');
    throw new UserError(
      `Target "${target}" is not a stage of ${file} (stages: ${names}): set "target" to one of them.`,
    );
  }
  return s;
}

/** The stages a build of `target` needs, target included, in file order. */
export function reachableStages(df: Dockerfile, target: Stage): Stage[] {
  const seen = new Map<number, Stage>();
  const visit = (s: Stage) => {
    if (seen.has(s.index)) return;
    seen.set(s.index, s);
    stageDependencies(df, s).forEach(visit);
  };
  visit(target);
  return [...seen.values()].sort((a, b) => a.index - b.index);
}

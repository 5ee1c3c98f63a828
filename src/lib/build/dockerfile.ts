import { DockerfileParser, type Instruction as ParsedInstruction } from 'dockerfile-ast';
import { errorAt, UserError } from '../core/errors.js';

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

function fold(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Keywords whose arguments may be written in exec form (a JSON array). */
const EXEC_FORM = ['COPY', 'ADD', 'RUN', 'CMD', 'ENTRYPOINT', 'VOLUME', 'SHELL'];

function decodeArgs(keyword: string, content: string, plain: string[]): string[] {
  const trimmed = content.trim();
  if (trimmed.startsWith('[') && EXEC_FORM.includes(keyword)) {
    try {
      const decoded: unknown = JSON.parse(trimmed);
      if (Array.isArray(decoded) && decoded.every((arg) => typeof arg === 'string'))
        return decoded as string[];
    } catch {
      /* not exec form after all: shell form that starts with "[" */
    }
  }
  return plain;
}

/**
 * Parses a Dockerfile into its global ARGs, stages and comments. A file without FROM, a FROM without
 * an image, or an instruction other than ARG before the first FROM is a UserError naming the line.
 */
export function parseDockerfile(source: string, file = 'Dockerfile'): Dockerfile {
  const lines = source.split(/\r?\n/);
  const stages: Stage[] = [];
  const globalArgs: Dockerfile['globalArgs'] = [];
  for (const node of DockerfileParser.parse(source).getInstructions()) {
    const instruction = toInstruction(node);
    const where = { file, line: instruction.startLine + 1 };
    if (instruction.keyword === 'FROM') stages.push(newStage(instruction, stages.length, where));
    else if (stages.length) stages.at(-1)!.instructions.push(instruction);
    else if (instruction.keyword === 'ARG') globalArgs.push(...instruction.args.map(parseArg));
    else
      throw errorAt(
        file,
        where.line,
        `${instruction.keyword} before the first FROM: only ARG may come before FROM.`,
      );
  }
  if (stages.length === 0)
    throw new UserError(`${file} has no FROM instruction: it is not a Dockerfile, or it is empty.`);
  return { globalArgs, stages, comments: readComments(lines), lines };
}

/** One parsed instruction in our shape: keyword, decoded arguments, flags and its folded text. */
function toInstruction(node: ParsedInstruction): Instruction {
  const keyword = node.getKeyword().toUpperCase();
  const range = node.getRange();
  const flags: Array<[string, string]> =
    'getFlags' in node && typeof node.getFlags === 'function'
      ? (node.getFlags() as Array<{ getName(): string; getValue(): string | null }>).map((flag) => [
          flag.getName().toLowerCase(),
          flag.getValue() ?? '',
        ])
      : [];
  const content = node.getArgumentsContent() ?? '';
  const plain = node.getArguments().map((arg) => arg.getValue());
  return {
    keyword,
    args: decodeArgs(keyword, content, plain),
    flags,
    text: fold([keyword, ...flags.map(([name, value]) => `--${name}=${value}`), content].join(' ')),
    startLine: range.start.line,
    endLine: range.end.line,
  };
}

/** A stage from its FROM instruction: `FROM <image> [AS <name>]`. */
function newStage(from: Instruction, index: number, where: { file: string; line: number }): Stage {
  const image = from.args[0];
  if (!image) throw errorAt(where.file, where.line, 'FROM has no image: write FROM <image> [AS <name>].');
  const name =
    from.args.length >= 3 && from.args[1]?.toUpperCase() === 'AS' ? from.args[2]?.toLowerCase() : undefined;
  return { index, name, from: image, fromInstruction: from, instructions: [] };
}

/**
 * Every line that starts with "#" is a comment (the parser reads a first-line "# key=value" as a
 * parser directive, which a slipway:cache line is not).
 */
function readComments(lines: string[]): Dockerfile['comments'] {
  return lines.flatMap((text, line) => {
    const match = /^\s*#(.*)$/.exec(text);
    return match ? [{ line, text: match[1]!.trim() }] : [];
  });
}

/** `NAME` or `NAME=default` (quotes around the default removed). */
function parseArg(declaration: string): { name: string; value?: string } {
  const eq = declaration.indexOf('=');
  return eq < 0
    ? { name: declaration }
    : { name: declaration.slice(0, eq), value: unquote(declaration.slice(eq + 1)) };
}

function unquote(value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
}

/** The ARG declarations of an instruction list: name and default (when given). */
export function argDeclarations(instructions: Instruction[]): Array<{ name: string; value?: string }> {
  return instructions
    .filter((instruction) => instruction.keyword === 'ARG')
    .flatMap((instruction) => instruction.args.map(parseArg));
}

/** Expands $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alt} with the given variables. */
export function expandVars(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_match, braced, op, word, bare) => {
      const value = vars[(braced ?? bare) as string];
      if (op === '-') return value ? value : (word as string);
      if (op === '+') return value ? (word as string) : '';
      return value ?? '';
    },
  );
}

/** The stage a reference (name or index) points at, if it is a stage of this file before `before`. */
export function findStage(df: Dockerfile, ref: string, before = Infinity): Stage | undefined {
  const wanted = ref.toLowerCase();
  const stage = /^\d+$/.test(wanted)
    ? df.stages[Number(wanted)]
    : df.stages.find((candidate) => candidate.name === wanted);
  return stage && stage.index < before ? stage : undefined;
}

/** Stages another stage depends on: its base (FROM <stage>), COPY --from and RUN --mount from=. */
export function stageDependencies(df: Dockerfile, stage: Stage): Stage[] {
  const dependencies = new Map<number, Stage>();
  const add = (ref: string | undefined) => {
    const found = ref ? findStage(df, ref, stage.index) : undefined;
    if (found) dependencies.set(found.index, found);
  };
  add(stage.from);
  for (const instruction of stage.instructions) {
    for (const [flag, value] of instruction.flags) {
      if (flag === 'from') add(value);
      if (flag === 'mount') add(mountOptions(value).from);
    }
  }
  return [...dependencies.values()];
}

/** Parses a --mount value (type=bind,from=x,source=y,target=z). */
export function mountOptions(value: string): Record<string, string> {
  return Object.fromEntries(
    value.split(',').map((option) => {
      const eq = option.indexOf('=');
      return eq < 0 ? [option.trim(), 'true'] : [option.slice(0, eq).trim(), option.slice(eq + 1).trim()];
    }),
  );
}

/** The stage a build ends at: the named target, else the last stage. */
export function targetStage(df: Dockerfile, target: string | undefined, file = 'Dockerfile'): Stage {
  if (!target) return df.stages[df.stages.length - 1]!;
  const stage = findStage(df, target);
  if (!stage) {
    const names = df.stages.map((candidate) => candidate.name ?? String(candidate.index)).join(', ');
    throw new UserError(
      `Target "${target}" is not a stage of ${file} (stages: ${names}): set "target" to one of them.`,
    );
  }
  return stage;
}

/** The stages a build of `target` needs, target included, in file order. */
export function reachableStages(df: Dockerfile, target: Stage): Stage[] {
  const seen = new Map<number, Stage>();
  const visit = (stage: Stage) => {
    if (seen.has(stage.index)) return;
    seen.set(stage.index, stage);
    stageDependencies(df, stage).forEach(visit);
  };
  visit(target);
  return [...seen.values()].sort((a, b) => a.index - b.index);
}

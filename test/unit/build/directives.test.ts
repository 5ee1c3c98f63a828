import { describe, expect, it } from 'vitest';
import { parseDirectives, validateDirectives } from '../../../src/lib/build/directives.js';
import { parseDockerfile } from '../../../src/lib/build/dockerfile.js';

const check = (src: string) => {
  const df = parseDockerfile(src);
  return validateDirectives(df, parseDirectives(df), 'Dockerfile');
};

describe('slipway:cache directives', () => {
  it('reads stage, outputs and refresh (default monthly), wherever the comment is', () => {
    const df = parseDockerfile(`# slipway:cache stage=B outputs=/out/
FROM rust AS b
RUN make
FROM debian
#   slipway:cache stage=c outputs=/opt/venv refresh=weekly
COPY --from=b /out/x /x
`);
    expect(parseDirectives(df)).toEqual([
      { stage: 'b', outputs: '/out', refresh: 'monthly', line: 1 },
      { stage: 'c', outputs: '/opt/venv', refresh: 'weekly', line: 5 },
    ]);
  });

  it('accepts a builder that later stages COPY from, inside its outputs', () => {
    const stages = check(`# slipway:cache stage=builder outputs=/out
FROM rust AS builder
RUN make
FROM debian
COPY --from=builder /out/bin/probe /usr/local/bin/
RUN --mount=type=bind,from=builder,source=/out/lib,target=/l ls /l
`);
    expect([...stages.keys()]).toEqual(['builder']);
  });

  const bad: Array<[string, string, RegExp]> = [
    [
      'an unknown stage',
      '# slipway:cache stage=nope outputs=/out\nFROM a AS b\nFROM c\nCOPY --from=b /out /o\n',
      /Dockerfile:1: slipway:cache names stage "nope", which is not a stage of Dockerfile \(named stages: b\)/,
    ],
    [
      'a stage nothing copies from',
      '# slipway:cache stage=b outputs=/out\nFROM a AS b\nFROM c\nRUN true\n',
      /Dockerfile:1: no later stage takes anything from b with COPY --from=b/,
    ],
    [
      'a stage used as a base',
      '# slipway:cache stage=b outputs=/out\nFROM a AS b\nFROM b AS c\nCOPY --from=b /out /o\n',
      /Dockerfile:3: stage c is built FROM b, which slipway:cache replaces by its outputs/,
    ],
    [
      'a COPY outside the outputs',
      '# slipway:cache stage=b outputs=/out\nFROM a AS b\nFROM c\nCOPY --from=b /usr/lib/x /x\n',
      /Dockerfile:4: COPY takes \/usr\/lib\/x from b, outside its cached outputs \/out/,
    ],
    [
      'a relative outputs',
      '# slipway:cache stage=b outputs=out\nFROM a AS b\n',
      /outputs=out must be an absolute directory/,
    ],
    [
      'outputs=/',
      '# slipway:cache stage=b outputs=/\nFROM a AS b\n',
      /must be an absolute directory other than \//,
    ],
    ['a missing outputs', '# slipway:cache stage=b\nFROM a AS b\n', /needs stage=NAME and outputs=DIR/],
    [
      'an unknown field',
      '# slipway:cache stage=b outputs=/o ttl=3\nFROM a AS b\n',
      /"ttl=3" in a slipway:cache directive/,
    ],
    [
      'a bad refresh',
      '# slipway:cache stage=b outputs=/o refresh=daily\nFROM a AS b\n',
      /refresh=daily is not monthly, weekly or never/,
    ],
    [
      'two directives for a stage',
      '# slipway:cache stage=b outputs=/o\n# slipway:cache stage=b outputs=/p\nFROM a AS b\n',
      /stage b has two slipway:cache directives/,
    ],
  ];
  it.each(bad)('rejects %s with one line naming it', (_what, src, message) => {
    expect(() => check(src)).toThrow(message);
  });

  it('ignores comments that are not directives', () => {
    expect(parseDirectives(parseDockerfile('# slipway is great\n# slipway:cacheless\nFROM a\n'))).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { countCachedSteps, ratio } from '../../../src/lib/build/output.js';

describe('cached steps from build output', () => {
  it('BuildKit plain progress: counts RUN/COPY/ADD/WORKDIR steps and their CACHED lines', () => {
    const out = `#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#4 [builder 1/3] FROM docker.io/library/debian:bookworm
#4 CACHED
#5 [builder 2/3] COPY tool/ /src/tool/
#5 CACHED
#6 [builder 3/3] RUN make
#6 0.301 compiling
#6 DONE 12.0s
#7 [runtime 2/3] COPY --from=builder /out/x /x
#7 CACHED
#8 [stage-2 3/3] WORKDIR /app
#8 DONE 0.0s
#9 exporting to image`;
    expect(countCachedSteps(out)).toEqual({ cached: 2, total: 4 });
  });

  it('classic builder: Step lines and "Using cache"; LABEL and FROM are not work', () => {
    const out = `Step 1/6 : FROM debian
 ---> cfd70c0287f1
Step 2/6 : COPY tool/ /src/
 ---> Using cache
 ---> 6704c35d148b
Step 3/6 : RUN make
 ---> Running in 39db1dd72cb6
 ---> 3d298a370ccb
Step 4/6 : ENV A=1
 ---> Using cache
Step 5/6 : LABEL org.opencontainers.image.created=2026-11-22T05:16:32.227Z
 ---> Running in 14f79699e987
Step 6/6 : ADD x /x
 ---> Using cache`;
    expect(countCachedSteps(out)).toEqual({ cached: 2, total: 3 });
  });

  it('podman (buildah): STEP lines and "--> Using cache"', () => {
    const out = `STEP 1/3: FROM debian
STEP 2/3: COPY a /a
--> Using cache 1b2c3d
--> 1b2c3d
STEP 3/3: RUN make
--> 4e5f6a`;
    expect(countCachedSteps(out)).toEqual({ cached: 1, total: 2 });
  });

  it('ratio is cached/total, 0 for no steps', () => {
    expect(ratio({ cached: 2, total: 3 })).toBe(0.667);
    expect(ratio({ cached: 0, total: 0 })).toBe(0);
  });
});

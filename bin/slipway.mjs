#!/usr/bin/env node
// The `slipway` command (package.json "bin"): runs src/cli/main.ts through tsx, a dependency of
// this repository, so a clone runs it with `npx slipway` after `npm ci`, no build step.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

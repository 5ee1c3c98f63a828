import { runAction } from '../shared/runner.js';
import { run } from './main.js';

await runAction(run);

import * as core from '@actions/core';
import { runAction } from '../shared/runner.js';
import { post, run } from './main.js';

// One bundle serves main and post (post: always()), told apart by state, as actions/cache does.
if (core.getState('isPost') === 'true') {
  await runAction(post);
} else {
  core.saveState('isPost', 'true');
  await runAction(run);
}

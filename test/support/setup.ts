import { afterEach } from 'vitest';
import { killStragglers } from './processes.js';

afterEach(() => {
  killStragglers();
});

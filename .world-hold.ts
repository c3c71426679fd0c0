import { writeFileSync } from 'node:fs';
import { createWorld } from './test/support/world.js';
const w = await createWorld();
writeFileSync('/tmp/w/env.json', JSON.stringify({ env: w.env, config: w.configFile }));
console.log('ready');
setInterval(() => {}, 1000);

import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { KNOWN_KEYS } from '../../src/config/schema.js';
import { readFile } from 'node:fs/promises';

const file = fileURLToPath(new URL('../../config.example.yaml', import.meta.url));

it('config.example.yaml is a valid config that documents every key', async () => {
  const { config } = await loadConfig({ file, via: '--config' });
  expect(Object.keys(config.environments)).toEqual(['stg', 'prd']);
  const text = await readFile(file, 'utf8');
  for (const key of [...KNOWN_KEYS.top, ...KNOWN_KEYS.environment, ...KNOWN_KEYS.database, ...KNOWN_KEYS.bastion]) {
    expect(text, key).toMatch(new RegExp(`\\b${key}:`));
  }
});

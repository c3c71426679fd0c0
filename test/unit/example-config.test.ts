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

it('the JSON Schema built from the zod schema knows every key, and the example references it', async () => {
  const schema = JSON.parse(
    await readFile(fileURLToPath(new URL('../../dist/config.schema.json', import.meta.url)), 'utf8'),
  );
  const env = schema.properties.environments.additionalProperties;
  expect(Object.keys(env.properties).sort()).toEqual([...KNOWN_KEYS.environment].sort());
  const db = env.properties.databases.additionalProperties;
  expect(Object.keys(db.properties).sort()).toEqual([...KNOWN_KEYS.database].sort());
  expect(db.properties.engine.enum).toEqual(['mysql', 'postgres', 'redis', 'mongodb', 'mssql', 'oracle']);
  expect(db.additionalProperties).toBe(false);
  expect((await readFile(file, 'utf8')).split('\n')[0]).toBe(
    '# yaml-language-server: $schema=./dist/config.schema.json',
  );
});

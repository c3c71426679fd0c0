// Everything dbtunnel ships is its own code plus the bundle built from its dependencies
// (scripts/build.mjs): the package installs nothing else, and every bundled package's licence is
// permissive and travels with it in dist/THIRD-PARTY-LICENSES.md.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PERMISSIVE = new Set([
  'MIT',
  'ISC',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'Unlicense',
  'CC0-1.0',
]);

it('installs no dependencies: they are bundled into dist/', () => {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies?: Record<string, string> };
  expect(pkg.dependencies ?? {}).toEqual({});
});

it('bundles only permissively licensed code (nothing copyleft), each licence text included', () => {
  const notices = readFileSync(`${root}dist/THIRD-PARTY-LICENSES.md`, 'utf8');
  const listed = [...notices.matchAll(/^- (\S+) (\S+) — (.+)$/gm)].map((m) => ({ name: m[1]!, license: m[3]! }));
  expect(listed.map((p) => p.name)).toEqual(
    expect.arrayContaining(['@aws-sdk/client-ssm', '@aws-sdk/client-ec2', 'yargs', 'zod', 'yaml', 'ora']),
  );
  expect(listed.filter((p) => !p.license.split(/\s+OR\s+|[()]/).some((l) => PERMISSIVE.has(l.trim())))).toEqual([]);
  // The IAM simulator the evaluator is tested against is AGPL: a development dependency, never shipped.
  expect(listed.map((p) => p.name).filter((n) => n.startsWith('@cloud-copilot/'))).toEqual([]);
  expect(notices).toContain('Apache License');
  expect(notices).toContain('Permission is hereby granted, free of charge');
});

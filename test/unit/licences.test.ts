import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PERMISSIVE = new Set(['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'BlueOak-1.0.0', 'Unlicense', 'CC0-1.0']);

it('ships only dependencies with permissive licences (nothing copyleft)', () => {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  const dirs = out.trim().split('\n').slice(1);
  expect(dirs.length).toBeGreaterThan(10);
  const bad = dirs
    .map((d) => {
      const pkg = JSON.parse(readFileSync(path.join(d, 'package.json'), 'utf8')) as { name: string; license?: string };
      return { name: pkg.name, license: String(pkg.license) };
    })
    .filter((p) => !p.license.split(/\s+OR\s+|[()]/).some((l) => PERMISSIVE.has(l.trim())));
  expect(bad).toEqual([]);
});

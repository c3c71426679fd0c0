// The house's rules (DESIGN: one responsibility per folder; imports point down): read from the
// source itself, so that a shortcut fails here rather than in a review.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

/** What each folder may import, besides itself and the files at the top of src/ (the bottom layer). */
const MAY_IMPORT: Record<string, string[]> = {
  '.': [],
  config: [],
  plugin: [],
  iam: [],
  aws: [],
  network: [],
  native: ['aws'],
  tunnel: ['config', 'aws', 'plugin', 'native', 'iam', 'network'],
  background: ['tunnel', 'config', 'aws', 'plugin', 'native', 'iam', 'network'],
  cli: ['background', 'tunnel', 'config', 'aws', 'plugin', 'native', 'iam', 'network'],
  types: [],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

const imports = files(src).map((file) => {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
  // A folder's subfolders (cli/commands) are the folder's own.
  const folder = (path.relative(src, path.dirname(file)) || '.').split(path.sep)[0]!;
  return { file: path.relative(src, file), folder, specifiers };
});

it('every folder imports only folders below it (and the files at the top of src/)', () => {
  const wrong: string[] = [];
  for (const { file, folder, specifiers } of imports) {
    for (const s of specifiers.filter((x) => x.startsWith('.'))) {
      const target = path.relative(src, path.resolve(src, folder, s));
      const to = target.includes(path.sep) ? target.split(path.sep)[0]! : '.';
      if (to === folder || to === '.' || to === '..') continue;
      if (!(MAY_IMPORT[folder] ?? []).includes(to)) wrong.push(`${file} imports ${s}`);
    }
  }
  expect(wrong).toEqual([]);
});

it('only src/aws calls AWS (imports the AWS SDK)', () => {
  const wrong = imports
    .filter(({ folder, specifiers }) => folder !== 'aws' && specifiers.some((s) => s.startsWith('@aws-sdk/')))
    .map(({ file }) => file);
  expect(wrong).toEqual([]);
});

it('no line in src/ is over 120 characters (the formatter wraps code, not text: long strings are split by hand)', () => {
  const long = files(src).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.length > 120 ? [`${path.relative(src, file)}:${i + 1} (${line.length})`] : [])),
  );
  expect(long).toEqual([]);
});

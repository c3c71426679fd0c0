// `npm run package`: the package users install, as a tarball in the current directory. Built from a
// staged copy whose package.json carries what an installed package needs and nothing else: no
// scripts (an install must run none: npm warns about `prepare` on every global install), no
// devDependencies (everything is bundled into dist/). `npm pack` in the repository itself is refused
// (prepack), so that no package is ever made from the development package.json.
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dev = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
const keep = [
  'name',
  'version',
  'description',
  'license',
  'type',
  'bin',
  'engines',
  'files',
  'repository',
  'homepage',
  'bugs',
  'keywords',
  'author',
];
const shipped = Object.fromEntries(keep.filter((k) => dev[k] !== undefined).map((k) => [k, dev[k]]));

const stage = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-package-'));
try {
  for (const entry of dev.files) await cp(path.join(root, entry), path.join(stage, entry), { recursive: true });
  await writeFile(path.join(stage, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  const destination = path.resolve(process.argv[2] ?? '.');
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: stage,
    encoding: 'utf8',
  });
  const [{ filename }] = JSON.parse(out);
  console.log(path.join(destination, filename));
} finally {
  await rm(stage, { recursive: true, force: true });
}

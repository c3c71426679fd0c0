// Builds dist/ from src/ with esbuild: the whole program and its dependencies (the AWS SDK clients
// tree-shaken to the commands dbtunnel sends), so the published package installs no dependencies
// and starts without resolving hundreds of modules. Code splitting keeps each command's modules in
// chunks it imports when it runs: --version, --help, list, alias and completion never load the AWS
// SDK. Type-checking is `npm run typecheck` (tsc), kept apart so that `npm ci` stays fast.
import { build } from 'esbuild';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stringWidthShim = path.join(root, 'src/cli/string-width.ts');

/**
 * `node:http` through require(), not `import`: kept for correctness. Importing a built-in makes Node
 * build an ES module facade that reads every export, lazy getters included; on Node 22 that runs
 * `http.WebSocket`'s getter, which loads undici — and undici compiles its HTTP parser with
 * WebAssembly, which `node --jitless` (NODE_OPTIONS=--jitless, on systems that forbid JIT) does not
 * have: the process then dies of an error in Node's own code. require() returns the module as it
 * is. (It also buys 17 ms to ready on Node 22, under the 25 ms a speed measure must buy: README.)
 * Its check: test/e2e/tunnel.test.ts opens a tunnel under --jitless and finds no undici loaded.
 */
/** @type {import('esbuild').Plugin} */
const httpByRequire = {
  name: 'http-by-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      // The require() inside the stand-in module is the real one, left to Node.
      args.namespace === 'http-by-require'
        ? { path: 'node:http', external: true }
        : { path: 'node:http', namespace: 'http-by-require' },
    );
    b.onLoad({ filter: /.*/, namespace: 'http-by-require' }, () => ({
      contents: "module.exports = require('node:http');",
      loader: 'js',
    }));
  },
};

/** yargs (and ora) import string-width; send them to the lazy shim, which loads the real one. */
/** @type {import('esbuild').Plugin} */
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, (args) =>
      args.importer === stringWidthShim ? undefined : { path: stringWidthShim },
    );
  },
};

/**
 * yargs' words come from y18n, which reads translations from a `locales` folder it finds relative to
 * yargs' own code: once bundled, relative to dist/, which is a folder outside dbtunnel's package (a
 * global install's `lib/node_modules/locales/`). A stray file there would reword every message, a
 * malformed one stop every command. src/cli/yargs-strings.ts gives yargs its English strings with no
 * file to read. This is for correctness, not speed (test/e2e/package.test.ts plants such files).
 */
/** @type {import('esbuild').Plugin} */
const yargsStrings = {
  name: 'yargs-strings',
  setup(b) {
    b.onResolve({ filter: /^y18n$/ }, (args) =>
      /[\\/]yargs[\\/]/.test(args.importer) ? { path: path.join(root, 'src/cli/yargs-strings.ts') } : undefined,
    );
  },
};

/**
 * yaml's "node" export is CommonJS, which esbuild cannot shake; its "default" (browser) export is the
 * same code as ES modules, differing only in sending warnings to console.warn rather than
 * process.emitWarning. The ES build lets the config reader load just the parser and composer.
 */
/** @type {import('esbuild').Plugin} */
const esmYaml = {
  name: 'esm-yaml',
  setup(b) {
    const entry = path.join(root, 'node_modules/yaml/browser/dist/index.js');
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: entry }));
  },
};

/**
 * The AWS SDK describes every operation of a service in one generated schemas module, and writes
 * trait keys as computed properties (`{ [_xN]: "Min" }`, `_xN` a string constant of that module).
 * esbuild must assume a computed key may run code, so it keeps all of them: EC2's 1.3 MB of schemas
 * for one DescribeInstances. Spelling those keys out as the literal strings they are lets the
 * unused schemas be shaken out; the meaning of the module does not change.
 *
 * SSM's module also registers a class for each of its 140 modelled errors (54 KB, built on every
 * start). Without the registration, the SDK raises an error of the service's base class with the
 * same `name`, message, `$metadata` and `$fault` (ProtocolLib.getErrorSchemaOrThrowBaseException),
 * which is all dbtunnel reads (src/aws/errors.ts goes by `name`; nothing checks `instanceof`, and no
 * SSM error is modelled as retryable). The base class's own registration stays.
 */
const shaken = { modules: 0, keys: 0, ssmModules: 0, registrations: 0 };
/** @type {import('esbuild').Plugin} */
const shakeableSdkSchemas = {
  name: 'shakeable-sdk-schemas',
  setup(b) {
    b.onLoad({ filter: /[\\/]@aws-sdk[\\/].*[\\/]dist-es[\\/](.*[\\/])?schemas[\\/]schemas_\d+\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const constants = new Map();
      for (const m of source.matchAll(/^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm)) constants.set(m[1], m[2]);
      shaken.modules++;
      let contents = source.replace(/\[(_\w+)\]:/g, (whole, name) => {
        if (!constants.has(name)) return whole;
        shaken.keys++;
        return `${constants.get(name)}:`;
      });
      if (/[\\/]client-ssm[\\/]/.test(args.path)) {
        shaken.ssmModules++;
        contents = contents.replace(/^n0_registry\.registerError\(\w+\$, \w+\);$/gm, () => {
          shaken.registrations++;
          return '';
        });
      }
      return { contents, loader: 'js' };
    });
  },
};

/**
 * The rewrite above reads the SDK's generated code by its shape. An SDK that generates it otherwise
 * would quietly get a bundle 1.8 MB larger and ~80 ms slower to ready (bench/patches.ts): the build
 * stops instead, saying so.
 */
function checkShaken() {
  if (without.has('shakeable-sdk-schemas')) return;
  const problems = [
    shaken.modules === 0 && 'no AWS SDK schemas module was found (dist-es/schemas/schemas_N.js)',
    shaken.modules > 0 && shaken.keys === 0 && 'no computed trait key ([_x]: …) was found in the SDK schemas modules',
    shaken.ssmModules > 0 &&
      shaken.registrations === 0 &&
      "no n0_registry.registerError(…) line was found in SSM's schemas",
  ].filter(Boolean);
  if (problems.length) {
    throw new Error(
      `scripts/build.mjs, shakeable-sdk-schemas: the AWS SDK's generated code has changed: ${problems.join('; ')}. Update the plugin, or build without it (DBTUNNEL_BUILD_WITHOUT=shakeable-sdk-schemas) and measure.`,
    );
  }
}

// For the bench's A/B of the build's own measures (bench/patches.ts): another output directory, and
// the named plugins left out (DBTUNNEL_BUILD_WITHOUT=lazy-string-width,shakeable-sdk-schemas).
const outdir = process.env.DBTUNNEL_BUILD_OUT ?? 'dist';
const without = new Set((process.env.DBTUNNEL_BUILD_WITHOUT ?? '').split(',').filter(Boolean));
const measures = [lazyStringWidth, shakeableSdkSchemas];
for (const name of without) {
  if (!measures.some((m) => m.name === name)) throw new Error(`DBTUNNEL_BUILD_WITHOUT: no measure named ${name}`);
}
await rm(path.resolve(root, outdir), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // The ES module builds (the AWS SDK's dist-es) so that unused commands and schemas are shaken out;
  // esbuild prefers a package's CommonJS main on node otherwise.
  mainFields: ['module', 'main'],
  target: 'node20.19',
  // Bundled CommonJS modules call require() for Node's built-ins; ESM has no require of its own.
  banner: {
    js: "import { createRequire as __dbtunnelRequire } from 'node:module'; const require = __dbtunnelRequire(import.meta.url);",
  },
  // Minified whole: less to read and compile on every start. Stack traces stay readable through the
  // source maps, which `--debug` turns on (src/cli/main.ts); they name src/ files, not their text.
  minify: true,
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none', // the licences are collected whole in dist/THIRD-PARTY-LICENSES.md
  plugins: [httpByRequire, esmYaml, yargsStrings, ...measures.filter((m) => !without.has(m.name))],
  metafile: true,
  logLevel: 'warning',
});

checkShaken();
await writeFile(path.resolve(root, outdir, 'THIRD-PARTY-LICENSES.md'), thirdPartyLicenses(result.metafile));
// What went into each chunk, for `npx esbuild --analyze`-style digging: DBTUNNEL_BUILD_META=file.json.
if (process.env.DBTUNNEL_BUILD_META) await writeFile(process.env.DBTUNNEL_BUILD_META, JSON.stringify(result.metafile));

// The config's JSON Schema, generated from the zod schema, for editors (yaml-language-server). The
// schema module is bundled under node_modules/ so that it resolves zod from this project.
const tmp = await mkdtemp(path.join(root, 'node_modules', '.dbtunnel-schema-'));
try {
  const out = path.resolve(tmp, 'schema.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['src/config/schema.ts'],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    logLevel: 'warning',
  });
  const { configSchema } = await import(pathToFileURL(out).href);
  const { z } = await import('zod/mini');
  const schema = {
    title: 'dbtunnel configuration',
    description: 'Environments and databases for dbtunnel: see config.example.yaml and README "Configuration".',
    ...z.toJSONSchema(configSchema, { target: 'draft-7', io: 'input' }),
  };
  await writeFile(path.resolve(root, outdir, 'config.schema.json'), `${JSON.stringify(schema, null, 2)}\n`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}

/**
 * Every package whose code is in the bundle, with its licence text (MIT, ISC, BSD and Apache-2.0
 * all ask that it travel with the code; Apache-2.0 NOTICE files too). A copyleft licence stops the
 * build: nothing of the kind may ship.
 * @param {import('esbuild').Metafile} metafile
 */
function thirdPartyLicenses(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(m[1]);
  }
  const packages = [...dirs]
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
      const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN');
      const files = readdirSync(path.join(root, dir)).filter((f) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(f));
      return {
        name: pkg.name,
        version: pkg.version,
        license,
        texts: files.map((f) => readFileSync(path.join(root, dir, f), 'utf8').trim()),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  const copyleft = packages.filter((p) => /\b(A?GPL|LGPL|MPL|EPL|EUPL|CDDL|SSPL|OSL|CC-BY-SA)\b/i.test(p.license));
  if (copyleft.length)
    throw new Error(`copyleft licence in the bundle: ${copyleft.map((p) => `${p.name} (${p.license})`).join(', ')}`);
  const unknown = packages.filter(
    (p) => !p.texts.length && !/^(MIT|ISC|Apache-2\.0|BSD-[23]-Clause|0BSD)$/.test(p.license),
  );
  if (unknown.length) throw new Error(`no licence found for: ${unknown.map((p) => p.name).join(', ')}`);
  const lines = [
    '# Third-party licences',
    '',
    'dbtunnel is MIT-licensed (see LICENSE). Its bundle (dist/) contains code from these packages, under these licences.',
    '',
    ...packages.map((p) => `- ${p.name} ${p.version} — ${p.license}`),
  ];
  // Grouped by text: the Apache-2.0 licence, for one, is the same file in every AWS SDK package.
  const byText = new Map();
  for (const p of packages) {
    const key = p.texts.length
      ? p.texts.join('\n\n')
      : `Licensed under ${p.license}; the package ships no licence file.`;
    byText.set(key, [...(byText.get(key) ?? []), `${p.name} ${p.version}`]);
  }
  for (const [text, names] of byText) lines.push('', `## ${names.join(', ')}`, '', '```', text, '```');
  return `${lines.join('\n')}\n`;
}

// Builds dist/ from src/ with esbuild. Type-checking is `npm run typecheck` (tsc), kept apart so
// that `npm ci` in a clean clone stays fast. Dependencies stay external: they are installed
// beside the package, and yargs reads its locale files from disk at run time.
import { build } from 'esbuild';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

await rm(new URL('../dist/', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true, // lazy `import()`s become chunks, so --version and --help never load the AWS SDK
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});

// The config's JSON Schema, generated from the zod schema, for editors (yaml-language-server). The
// schema module is bundled under node_modules/ so that it resolves zod from this project.
const tmp = await mkdtemp(path.join('node_modules', '.dbtunnel-schema-'));
try {
  const out = path.resolve(tmp, 'schema.mjs');
  await build({ entryPoints: ['src/config/schema.ts'], outfile: out, bundle: true, format: 'esm', platform: 'node', packages: 'external', logLevel: 'warning' });
  const { configSchema } = await import(pathToFileURL(out).href);
  const { z } = await import('zod');
  const schema = {
    title: 'dbtunnel configuration',
    description: 'Environments and databases for dbtunnel: see config.example.yaml and README "Configuration".',
    ...z.toJSONSchema(configSchema, { target: 'draft-7', io: 'input' }),
  };
  await writeFile('dist/config.schema.json', `${JSON.stringify(schema, null, 2)}\n`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}

// Builds dist/ from src/ with esbuild. Type-checking is `npm run typecheck` (tsc), kept apart so
// that `npm ci` in a clean clone stays fast. Dependencies stay external: they are installed
// beside the package, and yargs reads its locale files from disk at run time.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

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

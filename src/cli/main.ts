// The entry point. `dbtunnel --version` alone is answered before anything else loads: scripts and
// version checks call it, and it should cost little more than starting Node. Every other command
// line, `--version` with other arguments included, goes to yargs in app.ts.
import pkg from '../../package.json' with { type: 'json' };

const args = process.argv.slice(2);
// The bundle is minified; with --debug, stack traces go through its source maps to src/ lines. Set
// before anything else loads, so that every chunk's map is read (and none is without --debug). A
// `--debug` after `--` belongs to the command dbtunnel runs, as app.ts reads it too.
const dashes = args.indexOf('--');
if ((dashes === -1 ? args : args.slice(0, dashes)).includes('--debug')) process.setSourceMapsEnabled(true);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) process.stdout.write(`${pkg.version}\n`);
else if (args.length === 1 && args[0] === '__supervisor') {
  // The background supervisor, as `up -d` starts it (src/background/client.ts): it says on its
  // standard output, once, whether it serves; everything else goes to its log (standard error).
  const { runSupervisor } = await import('../background/supervisor.js');
  const { writeSync } = await import('node:fs');
  const announce = (line: string) => {
    try {
      writeSync(1, `${line}\n`);
    } catch {
      // whoever started it is gone: it serves all the same
    }
  };
  process.exit(await runSupervisor(announce));
} else await import('./app.js');

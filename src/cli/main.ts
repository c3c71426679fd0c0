// The entry point. `dbtunnel --version` alone is answered before anything else loads: scripts and
// version checks call it, and it should cost little more than starting Node. Every other command
// line, `--version` with other arguments included, goes to yargs in app.ts.
import pkg from '../../package.json' with { type: 'json' };

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) process.stdout.write(`${pkg.version}\n`);
else await import('./app.js');

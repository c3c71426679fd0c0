// Signals, in one place. Ctrl-C, SIGTERM and SIGHUP stop a run (the run closes everything). While a
// `--` command runs it owns the terminal: Ctrl-C, Ctrl-\ and Ctrl-Z are its own (psql cancels a
// query on Ctrl-C), so dbtunnel ignores them; SIGTERM and SIGHUP are passed on to the command.
import { EXIT } from '../errors.js';
import type { StopReason } from '../tunnel/run.js';
import type { Terminal } from './terminal.js';

const INTERRUPTS = ['SIGINT', 'SIGQUIT', 'SIGTSTP'] as const;
const ignore = () => {};

export class Signals {
  readonly stop = new AbortController();
  private command: { kill(signal: NodeJS.Signals): void } | undefined;

  install(term: Terminal): void {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        if (this.command) {
          if (sig !== 'SIGINT') this.command.kill(sig);
          term.debug(
            sig === 'SIGINT' ? 'SIGINT: the command has it (Ctrl-C is its own)' : `${sig}: passed on to the command`,
          );
          return;
        }
        // Later signals while closing: the close is bounded (SIGKILL after a grace period), so wait.
        if (!this.stop.signal.aborted) this.stop.abort(sig satisfies StopReason);
      });
    }
    // A bug must not leave a plugin or a session behind: abort, let the run close everything.
    const crash = (e: unknown) => {
      term.error(e);
      if (!this.stop.signal.aborted) this.stop.abort('crash' satisfies StopReason);
      process.exitCode = EXIT.internal;
    };
    process.on('uncaughtException', crash);
    process.on('unhandledRejection', crash);
  }

  /** While `child` runs, the terminal's interrupts are its own; SIGTERM and SIGHUP reach it through us. */
  commandStarted(child: { kill(signal: NodeJS.Signals): void }): void {
    this.command = child;
    for (const sig of INTERRUPTS) if (sig !== 'SIGINT') process.on(sig, ignore);
  }

  commandEnded(): void {
    this.command = undefined;
    for (const sig of INTERRUPTS) if (sig !== 'SIGINT') process.off(sig, ignore);
  }
}

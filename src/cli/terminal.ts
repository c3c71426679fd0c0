// Everything dbtunnel writes to a person: colours (off with NO_COLOR or when not a terminal), the
// spinner (a terminal only), warnings, errors rendered once with their hint, --debug lines.
import type { Ora } from 'ora';
import { isTunnelError, type TunnelError } from '../errors.js';

/** human: lines for people; json: one JSON event per line, nothing else; quiet: errors only. */
export type OutputMode = 'human' | 'json' | 'quiet';

export interface TerminalOptions {
  debug: boolean;
  mode?: OutputMode;
  /** A `--` command owns standard output: dbtunnel writes everything to standard error. */
  stdoutTaken?: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

const CODES = { red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39], dim: [2, 22], bold: [1, 22] } as const;
export type Style = keyof typeof CODES;

export class Terminal {
  readonly debugEnabled: boolean;
  readonly mode: OutputMode;
  private readonly out: NodeJS.WriteStream;
  private readonly err: NodeJS.WriteStream;
  private readonly color: boolean;
  private spinner: Ora | undefined;
  private spinnerLoading: Promise<void> | undefined;

  constructor(opts: TerminalOptions) {
    this.debugEnabled = opts.debug;
    this.mode = opts.mode ?? 'human';
    this.err = opts.stderr ?? process.stderr;
    this.out = opts.stdoutTaken ? this.err : (opts.stdout ?? process.stdout);
    this.color = colorEnabled(this.err, opts.env ?? process.env);
    // A closed terminal (SIGHUP) must not turn a clean shutdown into a crash on EIO/EPIPE.
    for (const s of [this.out, this.err]) s.on('error', () => {});
  }

  paint(style: Style, text: string): string {
    if (!this.color) return text;
    const [open, close] = CODES[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  /** Spinner text on a terminal; nothing elsewhere (and nothing under --debug, whose lines it would garble). */
  progress(text: string): void {
    // A terminal that reports 0 columns (some pseudo-terminals) would make ora's redraw loop forever.
    if (!this.err.isTTY || !this.err.columns || this.debugEnabled || this.mode !== 'human') return;
    if (this.spinner) {
      this.spinner.text = text;
      return;
    }
    this.spinnerLoading ??= import('ora').then(({ default: ora }) => {
      this.spinner = ora({ text, stream: this.err, discardStdin: false, color: this.color ? 'cyan' : false });
      this.spinner.start();
    });
  }

  /** Stop the spinner before writing lines of our own. */
  async settle(): Promise<void> {
    await this.spinnerLoading;
    this.spinner?.stop();
    this.spinner = undefined;
    this.spinnerLoading = undefined;
  }

  private line(stream: NodeJS.WriteStream, text: string): void {
    const spinning = this.spinner?.isSpinning;
    if (spinning) this.spinner!.clear();
    stream.write(`${text}\n`);
    if (spinning) this.spinner!.render();
  }

  success(text: string, stream: 'stdout' | 'stderr' = 'stderr'): void {
    if (this.mode !== 'human') return;
    this.line(stream === 'stdout' ? this.out : this.err, `${this.paint('green', '✔')} ${text}`);
  }

  info(text: string): void {
    if (this.mode !== 'human') return;
    this.line(this.err, text);
  }

  /** A result for standard output (or standard error when a command owns it), in human mode. */
  result(text: string): void {
    if (this.mode !== 'human') return;
    this.line(this.out, text);
  }

  warn(text: string): void {
    if (this.mode === 'quiet') return;
    if (this.mode === 'json') return this.event({ event: 'warning', message: text });
    this.line(this.err, `${this.paint('yellow', '⚠')} ${text}`);
  }

  /** --json: one event per line on standard output (standard error when a command owns it). */
  event(e: { event: string } & Record<string, unknown>): void {
    if (this.mode !== 'json') return;
    this.out.write(`${JSON.stringify(e)}\n`);
  }

  debug(text: string): void {
    if (this.debugEnabled) this.line(this.err, this.paint('dim', `debug +${Math.round(performance.now())}ms ${text}`));
  }

  /** Errors are rendered once, here: message, details, what to do; a stack only with --debug. */
  error(e: unknown): number {
    if (this.spinner?.isSpinning) this.spinner.stop();
    if (this.mode === 'json') {
      const err = isTunnelError(e) ? e : undefined;
      this.event({
        event: 'error',
        kind: err?.kind ?? 'internal',
        message: err?.message ?? (e instanceof Error ? e.message : String(e)),
        details: err?.details ?? [],
        hint: err?.hint ?? null,
        exitCode: err?.exitCode ?? 1,
      });
      return err?.exitCode ?? 1;
    }
    if (isTunnelError(e)) {
      this.err.write(this.renderError(e));
      if (this.debugEnabled && e.cause instanceof Error) this.err.write(this.paint('dim', `${e.cause.stack ?? e.cause.message}\n`));
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    this.err.write(`${this.paint('red', '✖')} Unexpected error: ${err.message}\n`);
    this.err.write(`  ${this.paint('cyan', '→')} This is a bug in dbtunnel. Run again with --debug and report what it prints.\n`);
    if (this.debugEnabled) this.err.write(this.paint('dim', `${err.stack}\n`));
    return 1;
  }

  renderError(e: TunnelError): string {
    const lines = [`${this.paint('red', '✖')} ${e.message}`];
    for (const d of e.details) for (const l of d.split('\n')) lines.push(`  ${l}`);
    if (e.hint) {
      const [first, ...rest] = e.hint.split('\n');
      lines.push(`  ${this.paint('cyan', '→')} ${first}`);
      for (const l of rest) lines.push(`    ${l}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

// Everything dbtunnel writes goes out here: colours (off with NO_COLOR or when not a terminal), the
// spinner (a terminal only), warnings, errors rendered once with their hint, --debug lines, JSON
// events and documents, shell code.
//
// This is the boundary where text leaves the process, so the two rules for outgoing text live here
// and nowhere else: every secret is redacted (src/secrets.ts), and every control character that
// came from outside (an argument, a config value, AWS's error text, a plugin line) is made visible
// (src/text.ts). Colours are the only escape sequences dbtunnel writes: paint() marks a span with a
// mark no outside text can forge (it holds a random nonce of this process), and the writer turns
// marks into colour codes only after everything else has been made visible.
import { randomBytes } from 'node:crypto';
import type { Ora } from 'ora';
import { isTunnelError, type TunnelError } from '../errors.js';
import { redact, redactDeep } from '../secrets.js';
import { visible } from '../text.js';

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

const CODES = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
} as const;
export type Style = keyof typeof CODES;

/**
 * JSON text that is safe on a terminal too: JSON.stringify escapes C0 controls but leaves C1 and
 * the bidirectional controls as they are; \u escapes mean the same characters to a JSON reader. Pure.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export class Terminal {
  readonly debugEnabled: boolean;
  readonly mode: OutputMode;
  private readonly out: NodeJS.WriteStream;
  private readonly err: NodeJS.WriteStream;
  private readonly color: boolean;
  /** A paint mark: NUL, this nonce, a colour code, NUL. */
  private readonly nonce = randomBytes(8).toString('hex');
  private readonly marks = new RegExp(`\\x00${this.nonce}(\\d+)\\x00`);
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

  /** `text` in a style, when colours are on (marked now, coloured when written). */
  paint(style: Style, text: string): string {
    const [open, close] = CODES[style];
    return `\0${this.nonce}${open}\0${text}\0${this.nonce}${close}\0`;
  }

  /** Text as it may leave: secrets redacted, outside control characters visible, marks as colours. */
  private finish(text: string): string {
    const parts = redact(text).split(this.marks);
    // split() with a capture group: text, code, text, code, …
    return parts.map((p, i) => (i % 2 === 0 ? visible(p) : this.color ? `\u001b[${p}m` : '')).join('');
  }

  /** Spinner text on a terminal; nothing elsewhere (and nothing under --debug, whose lines it would garble). */
  progress(text: string): void {
    // A terminal that reports 0 columns (some pseudo-terminals) would make ora's redraw loop forever.
    if (!this.err.isTTY || !this.err.columns || this.debugEnabled || this.mode !== 'human') return;
    const shown = this.finish(text);
    if (this.spinner) {
      this.spinner.text = shown;
      return;
    }
    this.spinnerLoading ??= import('ora').then(({ default: ora }) => {
      this.spinner = ora({ text: shown, stream: this.err, discardStdin: false, color: this.color ? 'cyan' : false });
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

  private write(stream: NodeJS.WriteStream, text: string): void {
    const spinning = this.spinner?.isSpinning;
    if (spinning) this.spinner!.clear();
    stream.write(text);
    if (spinning) this.spinner!.render();
  }

  private line(stream: NodeJS.WriteStream, text: string): void {
    this.write(stream, `${this.finish(text)}\n`);
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

  /** A line that must be seen whatever the mode (the production guard's banner, before its question). */
  notice(text: string): void {
    this.line(this.err, text);
  }

  warn(text: string): void {
    if (this.mode === 'quiet') return;
    if (this.mode === 'json') this.event({ event: 'warning', message: text });
    else this.line(this.err, `${this.paint('yellow', '⚠')} ${text}`);
  }

  /** --json: one event per line on standard output (standard error when a command owns it). */
  event(e: { event: string } & Record<string, unknown>): void {
    if (this.mode !== 'json') return;
    this.write(this.out, `${jsonText(redactDeep(this.unpainted(e)))}\n`);
  }

  /** A JSON document on standard output, whatever the mode (`list --json`, `policy`). */
  json(value: unknown): void {
    this.write(this.out, `${jsonText(redactDeep(value), 2)}\n`);
  }

  /**
   * Text for a program to read — shell code to eval, a script — on standard output, whatever the
   * mode, as it is (it is quoted for its reader) but for secrets. On a terminal, where a person
   * reads it, control characters are made visible.
   */
  print(text: string): void {
    const redacted = redact(text);
    this.write(this.out, this.out.isTTY ? visible(redacted) : redacted);
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
      this.write(this.err, this.finish(this.renderError(e)));
      if (this.debugEnabled && e.cause instanceof Error)
        this.line(this.err, this.paint('dim', e.cause.stack ?? e.cause.message));
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    this.line(this.err, `${this.paint('red', '✖')} Unexpected error: ${err.message}`);
    this.line(
      this.err,
      `  ${this.paint('cyan', '→')} This is a bug in dbtunnel. Run again with --debug and report what it prints.`,
    );
    if (this.debugEnabled) this.line(this.err, this.paint('dim', err.stack ?? ''));
    return 1;
  }

  /** An error as lines (marked for colour; the writer finishes them). */
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

  /** An event's strings without paint marks (JSON has no colours). */
  private unpainted<T>(value: T): T {
    const strip = (v: unknown): unknown =>
      typeof v === 'string'
        ? v
            .split(this.marks)
            .filter((_, i) => i % 2 === 0)
            .join('')
        : Array.isArray(v)
          ? v.map(strip)
          : v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]))
            : v;
    return strip(value) as T;
  }
}

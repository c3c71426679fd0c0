// Errors are values: a kind, a message for humans, a hint saying what to do, and an exit code.
// Every stage returns or throws a TunnelError; only the CLI renders it, once.

/** Exit codes, documented in README ("Exit codes"). dbtunnel's own failures use 10–29. */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 10,
  unknownTarget: 11,
  pluginMissing: 12,
  pluginTooOld: 13,
  portInUse: 14,
  notConfirmed: 15,
  credentials: 20,
  bastionNotFound: 21,
  accessDenied: 22,
  targetNotConnected: 23,
  aws: 24,
  startFailed: 25,
  sessionEnded: 26,
  throttled: 27,
  invalidDocument: 28,
  /** doctor found the path to a database blocked (a security group, network ACL, route, or the database). */
  networkBlocked: 29,
  /** Ctrl-C (or Ctrl-D) at init's questions, or while `up -d` waits: the shell's code for Ctrl-C. */
  cancelled: 130,
  sighup: 129,
  sigterm: 143,
} as const;

export type ErrorKind = Exclude<keyof typeof EXIT, 'ok' | 'sighup' | 'sigterm'>;

export class TunnelError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  /** Extra lines shown under the message (e.g. a policy statement to paste). */
  readonly details: readonly string[];

  constructor(kind: ErrorKind, message: string, opts: { hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TunnelError';
    this.kind = kind;
    this.hint = opts.hint;
    this.details = opts.details ?? [];
  }

  get exitCode(): number {
    return EXIT[this.kind];
  }
}

export function isTunnelError(e: unknown): e is TunnelError {
  return e instanceof TunnelError;
}

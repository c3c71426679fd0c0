// What a session client is to a tunnel, whichever speaks to the data channel: AWS's plugin as a
// process (src/plugin/) or dbtunnel's own client in this process (src/native/). Types only.

/** What a session client reports, in the plugin's terms (src/plugin/output.ts reads them from its output). */
export type SessionEvent =
  | { type: 'starting'; sessionId: string }
  | { type: 'ready'; port: number }
  | { type: 'connection' }
  | { type: 'destination-failed' }
  | { type: 'failed'; message: string }
  | { type: 'ended'; cause: 'exited' | 'aws' | 'timed-out'; text: string };

export interface SessionExit {
  code: number | undefined;
  signal: string | undefined;
}

export interface RunningSession {
  /** The plugin's process, or dbtunnel's own for the native client. */
  readonly pid: number;
  /** Resolves when the session client has ended, with everything it said already read. */
  readonly exited: Promise<SessionExit>;
  /** The last text it printed (or said), for error messages. */
  lastOutput(): string;
  /** Tell the agent and end (the plugin: SIGINT, then SIGKILL after `graceMs`). Resolves once it is gone. */
  stop(graceMs?: number): Promise<SessionExit & { forced: boolean }>;
}

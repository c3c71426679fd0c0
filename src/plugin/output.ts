// Reading session-manager-plugin's stdout: the only signal it gives (docs/aws-facts.md §plugin). Pure and
// incremental: feed it chunks as they arrive (the ready line has no newline in multiplexed mode).

import type { SessionEvent } from '../session-client.js';

export type PluginEvent = SessionEvent;

const READY = /Port (\d+) opened for sessionId /;
const READY_LINE = /^Port (\d+) opened for sessionId /;

const LINE_EVENTS: [RegExp, (m: RegExpMatchArray) => PluginEvent][] = [
  [/^Starting session with SessionId: (\S+)$/, (m) => ({ type: 'starting', sessionId: m[1]! })],
  [/^Cannot perform start session: (.*)$/, (m) => ({ type: 'failed', message: m[1]!.trim() })],
  [/^Connection to destination port failed/, () => ({ type: 'destination-failed' })],
  [/^Connection accepted for session/, () => ({ type: 'connection' })],
  [READY_LINE, (m) => ({ type: 'ready', port: Number(m[1]) })],
  [/^Exiting session with sessionId: (.*)$/, (m) => ({ type: 'ended', cause: 'exited', text: m[0] })],
  [/^Session: (\S+) timed out\.?$/, (m) => ({ type: 'ended', cause: 'timed-out', text: m[0] })],
  [/^SessionId: (\S+) : (.*)$/, (m) => ({ type: 'ended', cause: 'aws', text: m[2]!.trim() })],
];

export class PluginOutputReader {
  private buffer = '';
  /** The ready text arrived without its newline: the rest of that line is already read. */
  private inReadyLine = false;
  /** The last output, for error messages when the plugin dies without a known line. */
  private transcript = '';

  feed(chunk: string): PluginEvent[] {
    this.transcript = (this.transcript + chunk).slice(-4000);
    this.buffer += chunk;
    const events: PluginEvent[] = [];
    for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (this.inReadyLine) this.inReadyLine = false;
      else events.push(...parseLine(line));
    }
    // Multiplexed mode prints the ready line without a newline: look for it in the partial line.
    if (!this.inReadyLine) {
      const m = READY.exec(this.buffer);
      if (m) {
        events.push({ type: 'ready', port: Number(m[1]) });
        this.inReadyLine = true;
      }
    }
    if (this.inReadyLine) this.buffer = '';
    return events;
  }

  /** Call when stdout closes: a last line without a newline still counts. */
  end(): PluginEvent[] {
    const rest = this.inReadyLine ? '' : this.buffer;
    this.buffer = '';
    this.inReadyLine = false;
    return parseLine(rest);
  }

  get lastOutput(): string {
    return this.transcript.trim();
  }
}

function parseLine(line: string): PluginEvent[] {
  const text = line.replace(/\r$/, '').trim();
  if (!text) return [];
  for (const [re, make] of LINE_EVENTS) {
    const m = re.exec(text);
    if (m) return [make(m)];
  }
  return [];
}

/**
 * Whole lines of a stream, as they complete: what the plugin printed, word for word, for `--debug`.
 * A last line without its newline comes out at end().
 */
export function lineSplitter(onLine: (line: string) => void): { feed(chunk: string): void; end(): void } {
  let rest = '';
  const emit = (line: string) => {
    const text = line.replace(/\r$/, '');
    if (text.trim()) onLine(text);
  };
  return {
    feed(chunk) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      lines.forEach(emit);
    },
    end() {
      emit(rest);
      rest = '';
    },
  };
}

import { describe, expect, it } from 'vitest';
import { lineSplitter, PluginOutputReader, type PluginEvent } from '../../src/plugin/output.js';

const S = 'dev-0a1b2c3d4e5f67890';
// Exactly what the plugin prints (docs/aws-facts.md §plugin).
const MUX = `\nStarting session with SessionId: ${S}\nPort 13306 opened for sessionId ${S}.\nWaiting for connections...\n\nConnection accepted for session [${S}]\n`;
const BASIC = `\nStarting session with SessionId: ${S}\nPort 13306 opened for sessionId ${S}.\nConnection accepted for session ${S}.\n`;

function readAll(chunks: string[]): PluginEvent[] {
  const r = new PluginOutputReader();
  return [...chunks.flatMap((c) => r.feed(c)), ...r.end()];
}

describe('reading session-manager-plugin output', () => {
  it.each([
    ['multiplexed', MUX],
    ['basic', BASIC],
  ])('%s mode: starting, ready with the port, connection — however the bytes are split', (_mode, text) => {
    const expected: PluginEvent[] = [
      { type: 'starting', sessionId: S },
      { type: 'ready', port: 13306 },
      { type: 'connection' },
    ];
    for (let cut = 0; cut <= text.length; cut++) {
      expect(readAll([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
    }
    expect(readAll([...text])).toEqual(expected);
  });

  it('is ready on the multiplexed ready line before any newline arrives', () => {
    const r = new PluginOutputReader();
    r.feed(`\nStarting session with SessionId: ${S}\n`);
    expect(r.feed(`Port 50123 opened for sessionId ${S}.`)).toEqual([{ type: 'ready', port: 50123 }]);
    expect(r.feed('\nWaiting for connections...\n')).toEqual([]);
  });

  it('a failure to start, which comes with exit code 0', () => {
    expect(
      readAll([
        `\nStarting session with SessionId: ${S}\nCannot perform start session: listen tcp 127.0.0.1:13306: bind: address already in use\n`,
      ]),
    ).toContainEqual({ type: 'failed', message: 'listen tcp 127.0.0.1:13306: bind: address already in use' });
  });

  it('the three ways a session ends', () => {
    expect(readAll([`\n\nExiting session with sessionId: ${S}.\n\n`])).toEqual([
      { type: 'ended', cause: 'exited', text: `Exiting session with sessionId: ${S}.` },
    ]);
    expect(
      readAll([`\n\nSessionId: ${S} : Your session timed out due to inactivity and has been terminated.\n\n`]),
    ).toEqual([
      { type: 'ended', cause: 'aws', text: 'Your session timed out due to inactivity and has been terminated.' },
    ]);
    expect(readAll([`Session: ${S} timed out.\n`])).toEqual([
      { type: 'ended', cause: 'timed-out', text: `Session: ${S} timed out.` },
    ]);
  });

  it('the destination refusing, while the plugin keeps running', () => {
    expect(readAll(['\nConnection to destination port failed, check SSM Agent logs.\n'])).toEqual([
      { type: 'destination-failed' },
    ]);
  });

  it('a last line without a newline still counts when the output closes', () => {
    expect(readAll(['Cannot perform start session: boom'])).toEqual([{ type: 'failed', message: 'boom' }]);
  });

  it('keeps the last output for error messages', () => {
    const r = new PluginOutputReader();
    r.feed('something unexpected\n');
    expect(r.lastOutput).toBe('something unexpected');
  });
});

describe("the plugin's lines for --debug", () => {
  function linesOf(chunks: string[], end = true): string[] {
    const lines: string[] = [];
    const split = lineSplitter((l) => lines.push(l));
    for (const c of chunks) split.feed(c);
    if (end) split.end();
    return lines;
  }

  it('gives whole lines as printed, without blank ones or carriage returns, however the chunks fall', () => {
    const expected = [
      `Starting session with SessionId: ${S}`,
      `Port 13306 opened for sessionId ${S}.`,
      'Waiting for connections...',
      `Connection accepted for session [${S}]`,
    ];
    expect(linesOf([MUX])).toEqual(expected);
    expect(linesOf(MUX.split(''))).toEqual(expected);
    expect(linesOf(['a\r\n', '\r\n', 'b\n'])).toEqual(['a', 'b']);
  });

  it('holds a line until its newline, and gives a last line without one at the end', () => {
    expect(linesOf(['Port 13306 opened for sessionId x.'], false)).toEqual([]);
    expect(linesOf(['Port 13306 opened for sessionId x.'])).toEqual(['Port 13306 opened for sessionId x.']);
  });
});

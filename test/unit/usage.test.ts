import { describe, expect, it } from 'vitest';
import { unknownArguments } from '../../src/cli/usage.js';

const KNOWN = ['timeout', 'reconnect', 'maxReconnects', 'max-reconnects', 'profile', 'p', 'json', 'help', 'h'];

describe('unknown arguments, in the user\'s words', () => {
  it('names an option as it was typed, once, with the nearest known option for a typo', () => {
    expect(unknownArguments('Unknown argument: tiemout', ['stg', 'mydb', '--tiemout', '3'], KNOWN)).toEqual({
      message: 'Unknown option: --tiemout.',
      hint: 'Did you mean --timeout? Run dbtunnel --help for the commands and options.',
    });
    // yargs lists a kebab-case flag twice, as typed and in camelCase.
    expect(unknownArguments('Unknown arguments: max-reconect, maxReconect', ['--max-reconect=2'], KNOWN)).toEqual({
      message: 'Unknown option: --max-reconect.',
      hint: 'Did you mean --max-reconnects? Run dbtunnel --help for the commands and options.',
    });
    expect(unknownArguments('Unknown argument: such-flag', ['stg', '--no-such-flag'], KNOWN)?.message).toBe('Unknown option: --no-such-flag.');
    expect(unknownArguments('Unknown argument: z', ['stg', '-xz'], KNOWN)?.message).toBe('Unknown option: -z.');
  });

  it('gives no guess when nothing is close, and says "argument" for words that are not options', () => {
    expect(unknownArguments('Unknown arguments: bogus-flag, bogusFlag', ['stg', '--bogus-flag'], KNOWN)).toEqual({
      message: 'Unknown option: --bogus-flag.',
      hint: 'Run dbtunnel --help for the commands and options.',
    });
    expect(unknownArguments('Unknown arguments: extra, jsno', ['x', 'extra', '--jsno'], KNOWN)?.message).toBe('Unknown arguments: extra, --jsno.');
  });

  it('leaves every other message to yargs', () => {
    expect(unknownArguments('Not enough non-option arguments: got 0, need at least 1', [], KNOWN)).toBeUndefined();
  });
});

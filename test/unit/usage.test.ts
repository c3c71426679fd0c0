import { describe, expect, it } from 'vitest';
import {
  MAX_TIMEOUT_SECONDS,
  numberProblem,
  optionWithoutValue,
  typedValue,
  unknownArguments,
  usageError,
  valuedOptions,
  valueProblem,
  type YargsOptions,
} from '../../src/cli/usage.js';

const KNOWN = ['timeout', 'reconnect', 'maxReconnects', 'max-reconnects', 'profile', 'p', 'json', 'help', 'h'];

describe("unknown arguments, in the user's words", () => {
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
    expect(unknownArguments('Unknown argument: such-flag', ['stg', '--no-such-flag'], KNOWN)?.message).toBe(
      'Unknown option: --no-such-flag.',
    );
    expect(unknownArguments('Unknown argument: z', ['stg', '-xz'], KNOWN)?.message).toBe('Unknown option: -z.');
  });

  it('gives no guess when nothing is close, and says "argument" for words that are not options', () => {
    expect(unknownArguments('Unknown arguments: bogus-flag, bogusFlag', ['stg', '--bogus-flag'], KNOWN)).toEqual({
      message: 'Unknown option: --bogus-flag.',
      hint: 'Run dbtunnel --help for the commands and options.',
    });
    expect(unknownArguments('Unknown arguments: extra, jsno', ['x', 'extra', '--jsno'], KNOWN)?.message).toBe(
      'Unknown arguments: extra, --jsno.',
    );
  });

  it('leaves every other message to the other readers', () => {
    expect(unknownArguments('Not enough non-option arguments: got 0, need at least 1', [], KNOWN)).toBeUndefined();
  });
});

// As yargs keeps them for `dbtunnel <env> [db…]` (getOptions(), in part).
const TUNNEL: YargsOptions = {
  key: { timeout: true, 'max-reconnects': true, profile: true, reconnect: true, all: true, quiet: true, policy: true },
  string: ['profile', 'env'],
  number: ['timeout', 'maxReconnects'],
  array: ['policy'],
  choices: { reconnect: ['always', 'on-failure', 'never'] },
  alias: { quiet: ['q'], maxReconnects: ['max-reconnects'] },
};

describe('options typed without their value', () => {
  const valued = valuedOptions(TUNNEL);

  it('knows which options take a value, by every name', () => {
    expect([...valued].sort()).toEqual([
      'env',
      'max-reconnects',
      'maxReconnects',
      'policy',
      'profile',
      'reconnect',
      'timeout',
    ]);
  });

  it('finds an option last, before another option, empty after =, or given an empty word', () => {
    expect(optionWithoutValue(['stg', 'mydb', '--profile'], valued)).toBe('--profile');
    expect(optionWithoutValue(['stg', '--profile', '--all'], valued)).toBe('--profile');
    expect(optionWithoutValue(['stg', '--profile=', 'mydb'], valued)).toBe('--profile');
    expect(optionWithoutValue(['stg', '--profile', '', 'mydb'], valued)).toBe('--profile');
    expect(optionWithoutValue(['stg', '--reconnect', '-q'], valued)).toBe('--reconnect');
    expect(optionWithoutValue(['stg', 'mydb', '--max-reconnects'], valued)).toBe('--max-reconnects');
  });

  it('accepts values, negative numbers (refused later, as typed), booleans and what follows --', () => {
    expect(
      optionWithoutValue(['stg', '--profile', 'dev', '--timeout=5', '--reconnect', 'never', 'mydb'], valued),
    ).toBeUndefined();
    expect(optionWithoutValue(['stg', '--timeout', '-5'], valued)).toBeUndefined();
    expect(optionWithoutValue(['stg', '--all', '--quiet'], valued)).toBeUndefined();
    expect(optionWithoutValue(['stg', 'mydb', '--', 'psql', '--profile'], valued)).toBeUndefined();
  });
});

describe('numbers', () => {
  it('--timeout: seconds above 0, no more than a timer holds, shown as typed', () => {
    expect(numberProblem({ timeout: 30 }, [])).toBeUndefined();
    expect(numberProblem({ timeout: 0.5 }, [])).toBeUndefined();
    expect(numberProblem({ timeout: MAX_TIMEOUT_SECONDS }, [])).toBeUndefined();
    expect(numberProblem({ timeout: Number.NaN }, ['stg', '--timeout', 'soon'])).toBe(
      '--timeout must be a number of seconds above 0 (got "soon").',
    );
    expect(numberProblem({ timeout: 0 }, ['stg', '--timeout=0'])).toBe(
      '--timeout must be a number of seconds above 0 (got 0).',
    );
    expect(numberProblem({ timeout: -5 }, ['--timeout', '-5'])).toBe(
      '--timeout must be a number of seconds above 0 (got -5).',
    );
    expect(numberProblem({ timeout: 1e9 }, ['--timeout', '1e9'])).toBe(
      `--timeout must be at most ${MAX_TIMEOUT_SECONDS} seconds, about 24 days (got 1e9).`,
    );
  });

  it('--max-reconnects: a whole number, 0 or more', () => {
    expect(numberProblem({ maxReconnects: 0 }, [])).toBeUndefined();
    expect(numberProblem({ maxReconnects: 10 }, [])).toBeUndefined();
    expect(numberProblem({ maxReconnects: Number.NaN }, ['--max-reconnects', 'abc'])).toBe(
      '--max-reconnects must be a whole number, 0 or more (got "abc").',
    );
    expect(numberProblem({ maxReconnects: 1.5 }, ['--max-reconnects=1.5'])).toBe(
      '--max-reconnects must be a whole number, 0 or more (got 1.5).',
    );
    expect(numberProblem({ maxReconnects: -1 }, ['--max-reconnects', '-1'])).toBe(
      '--max-reconnects must be a whole number, 0 or more (got -1).',
    );
  });

  it('reads what was typed, with or without =, never after --', () => {
    expect(typedValue(['stg', '--timeout', 'soon'], 'timeout')).toBe('soon');
    expect(typedValue(['stg', '--timeout=soon'], 'timeout')).toBe('soon');
    expect(typedValue(['stg', '--', 'x', '--timeout', '3'], 'timeout')).toBeUndefined();
  });
});

describe("yargs' other messages, in the user's words", () => {
  it('a value not among the choices', () => {
    expect(
      usageError(
        'Invalid values:\n  Argument: reconnect, Given: "sometimes", Choices: "always", "on-failure", "never"',
        [],
        TUNNEL,
      ),
    ).toEqual({
      message: '--reconnect must be always, on-failure or never (got "sometimes").',
      hint: 'Run dbtunnel --help for the commands and options.',
    });
  });

  it('a command without its environment: the command as typed, without options and their values', () => {
    expect(
      usageError(
        'Not enough non-option arguments: got 0, need at least 1',
        ['--profile', 'dev', 'policy', 'check', '--all'],
        TUNNEL,
      ),
    ).toEqual({
      message: 'Which environment?',
      hint: 'Run: dbtunnel policy check <env> [db…]   (dbtunnel list shows them)',
    });
  });

  it('a required option: its own reason, which names it', () => {
    expect(
      usageError('Missing required argument: policy\nPass at least one identity policy: --policy FILE', [], TUNNEL)
        ?.message,
    ).toBe('Pass at least one identity policy: --policy FILE.');
    expect(usageError('Missing required arguments: policy, maxReconnects', [], TUNNEL)?.message).toBe(
      'Missing: --policy, --max-reconnects.',
    );
  });

  it('leaves a message it does not know as it is', () => {
    expect(usageError('Something new from yargs', [], TUNNEL)).toBeUndefined();
  });
});

describe('values as yargs parsed them', () => {
  it.each([
    [{ _: [], env: 'stg', dbs: ['a', 'b'], profile: 'p' }, undefined],
    [{ _: [], profile: ['a', 'b'] }, '--profile was given twice ("a", "b"): give it once.'],
    [{ _: [], config: ['a', 'b', 'c'] }, '--config was given 3 times ("a", "b", "c"): give it once.'],
    [{ _: [], timeout: [5, 6] }, '--timeout was given twice ("5", "6"): give it once.'],
    [
      { _: [], maxReconnects: [1, 2], 'max-reconnects': [1, 2] },
      '--max-reconnects was given twice ("1", "2"): give it once.',
    ],
    [{ _: [], policy: ['a.json', 'b.json'], scp: ['c.json', 'd.json'] }, undefined],
    [
      { _: [], profile: 'x'.repeat(257) },
      `--profile is 257 characters long: at most 256 can be meant ("${'x'.repeat(40)}…" (257 characters)).`,
    ],
    [{ _: [], config: 'x'.repeat(4096) }, undefined],
    [
      { _: [], env: 'e'.repeat(300) },
      `The environment name is 300 characters long: at most 256 can be meant ("${'e'.repeat(40)}…" (300 characters)).`,
    ],
    [
      { _: [], dbs: ['ok', 'd'.repeat(300)] },
      `A database name is 300 characters long: at most 256 can be meant ("${'d'.repeat(40)}…" (300 characters)).`,
    ],
    [{ _: [], '--': ['psql', 'x'.repeat(10_000)] }, undefined],
    [
      { _: ['ps', 'z'.repeat(300)] },
      `An argument is 300 characters long: at most 256 can be meant ("${'z'.repeat(40)}…" (300 characters)).`,
    ],
  ])('%#', (parsed, problem) => {
    expect(valueProblem(parsed)).toBe(problem);
  });
});

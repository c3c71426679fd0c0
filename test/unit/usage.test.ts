import { describe, expect, it } from 'vitest';
import { tunnel } from '../../src/cli/commands/tunnel.js';
import { GLOBAL_OPTIONS } from '../../src/cli/commands/spec.js';
import {
  choiceProblem,
  declared,
  MAX_TIMEOUT_SECONDS,
  numberProblem,
  optionWithoutValue,
  positionalWords,
  typedValue,
  unknownOption,
  valueProblem,
} from '../../src/cli/usage.js';

// A command's declarations, as commands/*.ts write them.
const D = declared(
  {
    ...GLOBAL_OPTIONS,
    profile: { type: 'string' },
    timeout: { type: 'number' },
    'max-reconnects': { type: 'number' },
    reconnect: { choices: ['always', 'on-failure', 'never'] },
    all: { type: 'boolean' },
    quiet: { type: 'boolean', alias: 'q' },
    policy: { type: 'string', array: true },
    scp: { type: 'string', array: true },
  },
  { env: { type: 'string' }, dbs: { type: 'string', array: true } },
);

describe('what a command declares', () => {
  it('its long names and one-letter aliases (with help and version), what takes a value, what takes several', () => {
    expect([...D.long].sort()).toEqual(
      [
        'all',
        'config',
        'debug',
        'help',
        'max-reconnects',
        'policy',
        'profile',
        'quiet',
        'reconnect',
        'scp',
        'timeout',
        'version',
      ].sort(),
    );
    expect([...D.short].sort()).toEqual(['h', 'q', 'v']);
    expect([...D.many].sort()).toEqual(['dbs', 'policy', 'scp']);
    expect(D.choices.get('reconnect')).toEqual(['always', 'on-failure', 'never']);
  });

  it('the tunnel command as declared: -q and -y, every option by its long name', () => {
    const t = declared({ ...GLOBAL_OPTIONS, ...tunnel.options }, tunnel.positionalOptions);
    expect([...t.short].sort()).toEqual(['h', 'q', 'v', 'y']);
    expect(t.long.has('dry-run') && t.long.has('legacy-plugin') && t.valued.has('instance')).toBe(true);
  });
});

describe('options the command does not have', () => {
  it.each([
    [['stg', 'mydb', '--tiemout', '3'], 'Unknown option: --tiemout.', 'Did you mean --timeout? '],
    [['--max-reconect=2'], 'Unknown option: --max-reconect.', 'Did you mean --max-reconnects? '],
    [['stg', '--no-such-flag'], 'Unknown option: --no-such-flag.', ''],
    [['stg', '--bogus-flag'], 'Unknown option: --bogus-flag.', ''],
    [['stg', '-qz'], 'Unknown option: -z.', ''],
  ])('%j', (typed, message, guess) => {
    expect(unknownOption(typed, D)).toEqual({
      message,
      hint: `${guess}Run dbtunnel --help for the commands and options.`,
    });
  });

  it.each([
    [['stg', 'mydb', '--timeout', '3', '--all', '-q', '--no-all']],
    [['stg', '--profile', '--looks-like-an-option']], // the value of --profile, whatever it looks like
    [['stg', '--timeout', '-5']],
    [['stg', '--profile=x', '--help', '-h', '--version']],
    [['stg', 'mydb', '--', 'psql', '--whatever', '-x']],
  ])('none in %j', (typed) => {
    expect(unknownOption(typed, D)).toBeUndefined();
  });
});

describe('choices', () => {
  it('a value not among them, in words; one among them, or none given', () => {
    expect(choiceProblem({ reconnect: 'sometimes' }, D)).toBe(
      '--reconnect must be always, on-failure or never (got "sometimes").',
    );
    expect(choiceProblem({ reconnect: 'never' }, D)).toBeUndefined();
    expect(choiceProblem({}, D)).toBeUndefined();
  });
});

describe('the words of a command line that are not options', () => {
  it.each([
    [['--config', 'x.yaml', 'doctor', '--profile', 'stg'], ['doctor']],
    [
      ['--profile', 'dev', 'policy', 'check', '--all', 'stg'],
      ['policy', 'check', 'stg'],
    ],
    [
      ['stg', '--timeout=5', 'mydb', '--', 'psql'],
      ['stg', 'mydb'],
    ],
  ])('%j → %j', (typed, words) => {
    expect(positionalWords(typed, D.valued)).toEqual(words);
  });
});

describe('options typed without their value', () => {
  const valued = D.valued;

  it('knows which options take a value, by every name', () => {
    expect([...valued].sort()).toEqual([
      'config',
      'max-reconnects',
      'policy',
      'profile',
      'reconnect',
      'scp',
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
    expect(valueProblem(parsed, D)).toBe(problem);
  });
});

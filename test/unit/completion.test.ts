// What Tab offers, as a table: the words typed so far (the last one being completed) → the offers.
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, RESERVED_WORDS } from '../../src/commands.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { completions } from '../../src/cli/completion.js';
import type { Config } from '../../src/config/schema.js';

const config = {
  environments: {
    stg: {
      bastion: 'b',
      databases: { mydb: { host: 'h.example', port: 3306 }, 'report-db': { host: 'h.example', port: 5432 } },
    },
    prod: { bastion: 'b', databases: { main: { host: 'h.example', port: 3306 } } },
  },
} as unknown as Config;

describe('completion', () => {
  it.each([
    // The first word: the commands, then the environments.
    [['s'], ['sessions', 'stg']],
    [['p'], ['policy', 'ps', 'prod']],
    // A tunnel: databases of the environment, not those typed already.
    [
      ['stg', ''],
      ['mydb', 'report-db'],
    ],
    [['stg', 'mydb', ''], ['report-db']],
    // Commands that take an environment, and one database or several.
    [
      ['doctor', ''],
      ['stg', 'prod'],
    ],
    [
      ['policy', ''],
      ['check', 'stg', 'prod'],
    ],
    [
      ['policy', 'check', 'stg', ''],
      ['mydb', 'report-db'],
    ],
    [
      ['down', 'stg', ''],
      ['mydb', 'report-db'],
    ],
    [['down', 'stg', 'mydb', ''], []],
    [['logs', 'prod', ''], ['main']],
    [
      ['sessions', ''],
      ['stg', 'prod'],
    ],
    [['ps', ''], []],
    // Options: the command's own, long names only (no --d, --y), the global ones too.
    [['stg', '--p'], ['--profile']],
    [
      ['stg', 'mydb', '--re'],
      ['--region', '--reconnect'],
    ],
    [
      ['up', '--d'],
      ['--debug', '--detach'],
    ],
    [['up', 'stg', '--y'], ['--yes']],
    [
      ['policy', '--'],
      ['--config', '--debug', '--region', '--json', '--help'],
    ],
    [
      ['policy', 'check', 'stg', '--p'],
      ['--policy', '--principal'],
    ],
    [['logs', 'stg', '--f'], ['--follow']],
    [['--c'], ['--config']],
    // After an option that takes a value: its choices, or nothing (the shell offers files).
    [
      ['stg', '--reconnect', ''],
      ['always', 'on-failure', 'never'],
    ],
    [['stg', '--reconnect', 'o'], ['on-failure']],
    [
      ['alias', '--shell', ''],
      ['bash', 'zsh', 'fish'],
    ],
    [['--config', ''], []],
    [
      ['--config', 'x.yaml', 'stg', ''],
      ['mydb', 'report-db'],
    ],
    // After `--`: the user's own command.
    [['stg', 'mydb', '--', 'ps', ''], []],
  ])('%j → %j', (words, offers) => {
    expect(completions(words, COMMANDS, config)).toEqual(offers);
  });

  it('without a config: the commands and the options still', () => {
    expect(completions(['d'], COMMANDS, undefined)).toEqual(['doctor', 'down']);
    expect(completions(['stg', '--ti'], COMMANDS, undefined)).toEqual(['--timeout']);
  });
});

describe('the command words', () => {
  it('each has its command, and none can name an environment', () => {
    expect(
      COMMANDS.filter((c) => c.path.length === 1)
        .map((c) => c.path[0])
        .sort(),
    ).toEqual([...COMMAND_NAMES].sort());
    expect(RESERVED_WORDS).toEqual([...COMMAND_NAMES, 'help']);
  });
});

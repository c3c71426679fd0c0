// `dbtunnel init`'s answers, checked by the config's rules, and the file the YAML library writes.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkAnswer, starterConfig, type Answers } from '../../src/cli/init-command.js';
import { validateConfig } from '../../src/config/validate.js';

describe("each answer, by the config's rules", () => {
  it.each([
    ['env', 'stg', { value: 'stg' }],
    [
      'env',
      'stg:\n  x: y',
      {
        problem:
          '--env must use only letters, digits, ".", "_" and "-" (it is typed as a command argument) (got "stg:\\n  x: y")',
      },
    ],
    [
      'env',
      'doctor',
      { problem: '--env is a dbtunnel command, so it cannot name an environment: choose another name (got "doctor")' },
    ],
    ['port', '5432', { value: 5432 }],
    ['port', '0', { problem: '--port must be a port number from 1 to 65535 (got 0)' }],
    ['port', '12a', { problem: '--port must be a whole number from 1 to 65535 (got "12a")' }],
    ['localPort', '0', { value: 0 }],
    ['region', 'eu-west-1', { value: 'eu-west-1' }],
    [
      'host',
      'db;rm -rf',
      {
        problem:
          '--host must be at least 3 characters with none of , $ ^ & ( ) ! ; \' " < > ` { } [ ] | # = (Session Manager rejects them) (got "db;rm -rf")',
      },
    ],
    [
      'engine',
      'mariadb',
      { problem: '--engine must be one of mysql, postgres, redis, mongodb, mssql, oracle (got "mariadb")' },
    ],
  ] as const)('%s %j', (field, typed, result) => {
    expect(checkAnswer(field, typed)).toEqual(result);
  });
});

describe('the file written', () => {
  const answers: Answers = {
    env: 'yes',
    profile: 'team: admin # not a comment',
    region: undefined,
    bastion: 'it\'s "quoted"\n- evil: true',
    db: 'main',
    host: 'main.internal',
    port: 5432,
    localPort: 0,
    engine: undefined,
  };

  it('holds exactly the answers, whatever they contain, and loads', () => {
    const text = starterConfig(answers);
    expect(parse(text)).toEqual({
      environments: {
        yes: {
          profile: answers.profile,
          bastion: answers.bastion,
          databases: { main: { host: 'main.internal', port: 5432, localPort: 0 } },
        },
      },
    });
    expect(validateConfig({ file: 'dbtunnel.yaml', text }, undefined).environments.yes!.bastion).toBe(answers.bastion);
  });
});

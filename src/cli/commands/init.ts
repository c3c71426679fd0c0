// `init`: a commented starter config, asked for on a terminal or given as flags.
import { defineCommand } from './spec.js';

export const init = defineCommand({
  path: ['init'],
  positionals: '',
  describe: 'Write a commented starter config (asks on a terminal; flags otherwise); never overwrites without --force',
  positionalOptions: {},
  options: {
    env: { type: 'string', describe: 'Environment name (default stg)' },
    profile: { type: 'string', describe: 'AWS profile' },
    region: { type: 'string', describe: 'AWS region' },
    bastion: { type: 'string', describe: "The bastion's Name tag" },
    db: { type: 'string', describe: 'First database name' },
    host: { type: 'string', describe: 'Its host, as the bastion sees it' },
    port: { type: 'number', describe: 'Its port' },
    'local-port': { type: 'number', describe: 'Local port' },
    engine: { type: 'string', describe: 'mysql, postgres, redis, mongodb, mssql or oracle' },
    file: { type: 'string', describe: 'Where to write (default ./dbtunnel.yaml)' },
    personal: { type: 'boolean', default: false, describe: 'Write ~/.config/dbtunnel/config.yaml instead' },
    force: { type: 'boolean', default: false, describe: 'Replace an existing file' },
  },
  async run(a, { term }) {
    const { initCommand } = await import('../init-command.js');
    return initCommand(
      {
        env: a.env,
        profile: a.profile,
        region: a.region,
        bastion: a.bastion,
        db: a.db,
        host: a.host,
        port: a.port,
        localPort: a.localPort,
        engine: a.engine,
        file: a.file,
        personal: a.personal,
        force: a.force,
      },
      term,
    );
  },
});

// The config file's schema: the user-facing contract (README "Configuration", config.example.yaml).
// Messages here are what a user reads next to a file, line and key path, so they say what is allowed.
import { RESERVED_WORDS } from '../commands.js';
import { ENGINES, INSTANCE_ID_PATTERN, SESSION_CLIENTS } from '../model.js';
import * as z from '../zod.js';

/** AWS-StartPortForwardingSessionToRemoteHost validates `host` with this pattern (docs/aws-facts.md §arns). */
export const DOCUMENT_HOST_PATTERN = /^[^,$^&()!;'"<>`{}[\]|#=]{3,}$/;

/** A message for "not a map at all", leaving the messages of its keys and values alone. */
function onlyForType(message: string) {
  return (issue: { code: string }) => (issue.code === 'invalid_type' ? message : undefined);
}

const name = z
  .string()
  .check(
    z.regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
      'must use only letters, digits, ".", "_" and "-" (it is typed as a command argument)',
    ),
  );

const port = z
  .number({ error: 'must be a port number from 1 to 65535' })
  .check(
    z.int('must be a whole number from 1 to 65535'),
    z.minimum(1, 'must be a port number from 1 to 65535'),
    z.maximum(65535, 'must be a port number from 1 to 65535'),
  );

const localPort = z
  .number({ error: 'must be a port number from 1 to 65535, or 0 to let the system pick one' })
  .check(
    z.int('must be a whole number from 0 to 65535'),
    z.minimum(0, 'must be a port number from 1 to 65535, or 0 to let the system pick one'),
    z.maximum(65535, 'must be a port number from 1 to 65535, or 0 to let the system pick one'),
  );

const host = z
  .string({ error: 'must be the database host name or IP address, as the bastion sees it' })
  .check(
    z.regex(
      DOCUMENT_HOST_PATTERN,
      'must be at least 3 characters with none of , $ ^ & ( ) ! ' +
        '; \' " < > ` { } [ ] | # = (Session Manager rejects them)',
    ),
  );

const region = z
  .string()
  .check(z.regex(/^[a-z]{2,}(-[a-z]+)+-\d+$/, 'must be an AWS region code such as ap-northeast-1'));

const instanceId = z.string().check(z.regex(INSTANCE_ID_PATTERN, 'must be an instance id such as i-0abc1234def567890'));

const bastion = z.union(
  [
    z.string().check(z.minLength(1, "must be the bastion's Name tag")),
    z.strictObject({ instanceId }),
    z.strictObject({
      tags: z
        .record(z.string().check(z.minLength(1)), z.string())
        .check(z.refine((t) => Object.keys(t).length > 0, 'needs at least one tag, e.g. {Role: bastion}')),
    }),
  ],
  { error: 'must be a Name tag (a string), {instanceId: i-…} or {tags: {Key: value, …}}' },
);

export { ENGINES, type Engine } from '../model.js';

export const databaseSchema = z.strictObject({
  host: host.check(z.describe('The database host as the bastion sees it (DNS name or IP).')),
  port: port.check(z.describe('The database port.')),
  localPort: z
    .optional(localPort)
    .check(
      z.describe(
        "The local port. Default: the database's port if free here, " +
          'else one the system picks; 0: always let the system pick.',
      ),
    ),
  engine: z
    .optional(z.enum(ENGINES, { error: `must be one of ${ENGINES.join(', ')}` }))
    .check(z.describe('The database engine, for the client command and URL printed when the tunnel is ready.')),
});

export const environmentSchema = z.strictObject({
  profile: z
    .optional(z.string().check(z.minLength(1, 'must be the name of an AWS profile')))
    .check(z.describe('Named AWS profile; --profile overrides it. Default: the AWS SDK chain.')),
  confirm: z
    .optional(z.boolean({ error: 'must be true or false' }))
    .check(z.describe('Ask y/N before opening (production guard); scripts pass --yes.')),
  reconnect: z
    .optional(z.enum(['always', 'on-failure', 'never'], { error: 'must be always, on-failure or never' }))
    .check(
      z.describe(
        'When a session ends unasked: always reconnect (also after ' +
          'AWS ends it), on-failure (network loss, plugin crash), never.',
      ),
    ),
  region: z
    .optional(region)
    .check(z.describe("AWS region; --region overrides it. Default: AWS_REGION, then the profile's region.")),
  sessionClient: z
    .optional(z.enum(SESSION_CLIENTS, { error: 'must be auto, plugin or native' }))
    .check(
      z.describe(
        "Which session client carries the tunnels: plugin (AWS's session-manager-plugin), native " +
          "(dbtunnel's own), auto (the plugin when installed, else native). --session-client overrides it.",
      ),
    ),
  bastion: bastion.check(z.describe('The bastion: its Name tag, {instanceId: i-…}, or {tags: {Key: value}}.')),
  databases: z
    .record(name, databaseSchema, { error: onlyForType('must be a map of database names to {host, port}') })
    .check(z.refine((d) => Object.keys(d).length > 0, 'needs at least one database')),
});

/** Words that are dbtunnel commands cannot name an environment: `dbtunnel policy` must mean the command. */
export const RESERVED_ENVIRONMENT_NAMES = RESERVED_WORDS;

const environmentName = name.check(
  z.refine(
    (n) => !RESERVED_ENVIRONMENT_NAMES.includes(n),
    'is a dbtunnel command, so it cannot name an environment: choose another name',
  ),
);

/**
 * Each answer `init` asks for, checked by the same rules as the config (so a value that would not
 * load is refused when it is typed). Values as typed: ports are text until they pass.
 */
export const ANSWER_RULES = {
  env: environmentName,
  profile: z.string().check(z.minLength(1, 'must be the name of an AWS profile')),
  region,
  bastion: z.string().check(z.minLength(1, "must be the bastion's Name tag")),
  db: name,
  host,
  port,
  localPort,
  engine: z.enum(ENGINES, { error: `must be one of ${ENGINES.join(', ')}` }),
} as const;

export const configSchema = z.strictObject({
  environments: z
    .record(environmentName, environmentSchema, {
      error: onlyForType('must be a map of environment names to their settings'),
    })
    .check(z.refine((e) => Object.keys(e).length > 0, 'needs at least one environment')),
});

export type Config = z.infer<typeof configSchema>;
export type Environment = z.infer<typeof environmentSchema>;
export type Database = z.infer<typeof databaseSchema>;
export type BastionRef = Environment['bastion'];

/** Every key the schema knows, for "did you mean …" on a typo. */
export const KNOWN_KEYS = {
  top: ['environments'],
  environment: Object.keys(environmentSchema.shape),
  database: Object.keys(databaseSchema.shape),
  bastion: ['instanceId', 'tags'],
} as const;

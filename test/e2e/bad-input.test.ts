// The bad input corpus (test/corpus/): each file gives a clear error naming the file, the line and
// the key path, exit code 10, and starts nothing — no AWS call, no plugin.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDbtunnel } from '../support/cli.js';
import { createWorld, type World } from '../support/world.js';

const corpus = fileURLToPath(new URL('../corpus/', import.meta.url));
let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world.close();
});

async function refused(file: string, says: RegExp): Promise<void> {
  const r = await runDbtunnel(['--config', file, 'stg', 'mydb'], world.env);
  expect(r.code, r.stderr).toBe(10);
  expect(r.stderr).toMatch(says);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  expect(r.stderr.length).toBeLessThan(2000); // at most a short excerpt of what the file holds
  expect(world.emu.calls).toHaveLength(0);
  expect(await world.pluginRecords()).toHaveLength(0);
}

describe('bad input', () => {
  it.each([
    ['malformed.yaml', /malformed\.yaml:[34]: this is not valid YAML/],
    ['tab-indented.yaml', /tab-indented\.yaml:3: this is not valid YAML/],
    [
      'wrong-type.yaml',
      /wrong-type\.yaml:7: environments\.stg\.databases\.mydb\.port must be a port number from 1 to 65535 \(got "3306a"\)/,
    ],
    [
      'list-not-map.yaml',
      /list-not-map\.yaml:4: environments\.stg\.databases must be a map of database names to \{host, port\}/,
    ],
    [
      'port-out-of-range.yaml',
      /port-out-of-range\.yaml:7: environments\.stg\.databases\.mydb\.port must be a port number from 1 to 65535 \(got 99999\)/,
    ],
    [
      'duplicate-local-ports.yaml',
      /duplicate-local-ports\.yaml:6: environments\.stg\.databases\.reportdb\.localPort is 13306, the same as databases\.mydb\.localPort/,
    ],
    [
      'unknown-key.yaml',
      /unknown-key\.yaml:6: environments\.stg\.databases\.mydb\.hots is not a known key \(did you mean "host"\?/,
    ],
    [
      'rejected-host.yaml',
      /rejected-host\.yaml:6: environments\.stg\.databases\.mydb\.host must be at least 3 characters with none of/,
    ],
    ['missing-host.yaml', /missing-host\.yaml:5: environments\.stg\.databases\.mydb\.host is missing/],
    ['empty.yaml', /empty\.yaml is empty/],
    ['alias-bomb.yaml', /alias-bomb\.yaml:7: its YAML aliases \(\*name\) expand to more than 100 copies/],
    [
      'deep-flow.yaml',
      /deep-flow\.yaml:2: this is nested far too deep for a dbtunnel config \(it opens more than 64 nested \[ or \{\)/,
    ],
    [
      'deep-block.yaml',
      /deep-block\.yaml:2: this is nested far too deep for a dbtunnel config \(its content starts at column 301\)/,
    ],
    ['binary.yaml', /binary\.yaml is not a text file: it has binary data \(a NUL byte on line 3\)/],
    ['latin1.yaml', /latin1\.yaml is not UTF-8 text \(line 3\)/],
    [
      'unclosed-quote.yaml',
      /unclosed-quote\.yaml:8: this is not valid YAML: a value opened with " here is never closed/,
    ],
    [
      'long-value.yaml',
      /long-value\.yaml:7: environments\.stg\.databases\.mydb\.port must be a port number from 1 to 65535 \(got "9{60}…" \(50000 characters\)\)/,
    ],
    [
      'shared-variables.yaml',
      /shared-variables\.yaml:6: environments\.stg\.databases\.my\.db and databases\.my-db both become DBTUNNEL_MY_DB_HOST/,
    ],
  ])('%s', async (name, says) => refused(path.join(corpus, name), says));

  it('a huge file', async () => {
    const huge = path.join(world.dir, 'huge.yaml');
    await writeFile(huge, `environments:\n${'#'.repeat(2 * 1024 * 1024)}\n`);
    await refused(huge, /huge\.yaml is 2049 KiB: more than the 1024 KiB allowed \(from --config\)/);
  });

  it('a directory instead of a file', async () => {
    const dir = path.join(world.dir, 'a-directory');
    await mkdir(dir);
    await refused(dir, /a-directory is a directory, not a regular file \(from --config\)/);
  });

  it('a FIFO, a device: refused at once, not read (a FIFO hung forever; /dev/zero took 12 s and all memory)', async () => {
    const fifo = path.join(world.dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    await refused(fifo, /fifo\.yaml is a named pipe \(FIFO\), not a regular file \(from --config\)/);
    await refused('/dev/zero', /\/dev\/zero is a character device, not a regular file \(from --config\)/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('AWS_CA_BUNDLE, AWS_CONFIG_FILE and a policy file that are not regular files: refused at once', async () => {
    const fifo = path.join(world.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    for (const [variable, file] of [
      ['AWS_CA_BUNDLE', '/dev/zero'],
      ['AWS_CA_BUNDLE', fifo],
      ['AWS_CONFIG_FILE', fifo],
      ['AWS_SHARED_CREDENTIALS_FILE', '/dev/zero'],
    ] as const) {
      const r = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb'], { ...world.env, [variable]: file });
      expect(r.code, r.stderr).toBe(10);
      expect(r.stderr).toContain(`${variable} names ${file}, which is a `);
      expect(r.stderr).toContain('not a regular file.');
    }
    for (const file of [fifo, '/dev/zero']) {
      const r = await runDbtunnel(
        ['--config', world.configFile, 'policy', 'check', 'stg', '--policy', file],
        world.env,
      );
      expect(r.code, r.stderr).toBe(10);
      expect(r.stderr).toMatch(
        new RegExp(`Policy file ${file} is a (named pipe \\(FIFO\\)|character device), not a regular file\\.`),
      );
    }
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(world.emu.calls).toHaveLength(0);
    expect(await world.pluginRecords()).toHaveLength(0);
  });

  it('a file that does not exist', async () => {
    await refused(path.join(world.dir, 'nope.yaml'), /nope\.yaml does not exist \(from --config\)/);
  });
});

import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TunnelError } from '../../src/errors.js';
import { findPlugin, INSTALL_HINTS, pluginCandidates } from '../../src/plugin/locate.js';
import { boundAddress, chooseLocalPort, portHolders, tryBind } from '../../src/tunnel/port.js';

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});
function hold(host: string, port = 0): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    servers.push(s);
    s.listen({ host, port }, () => resolve((s.address() as net.AddressInfo).port));
  });
}

describe('local ports', () => {
  it('sees a port held on 127.0.0.1 or on ::1 alone', async () => {
    const v4 = await hold('127.0.0.1');
    expect(await portHolders(v4)).toEqual(['127.0.0.1']);
    const v6 = await hold('::1');
    expect(await portHolders(v6)).toContain('::1');
    expect(await boundAddress(v6)).toBe('::1');
    expect(await boundAddress(v4)).toBe('127.0.0.1');
  });

  it('a free port is free on both', async () => {
    const p = await hold('127.0.0.1');
    await new Promise((closed) => servers.pop()!.close(closed));
    expect(await tryBind('127.0.0.1', p)).toBe('free');
  });

  it('an address this host does not have counts as free', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface: binding it fails with EADDRNOTAVAIL.
    expect(await tryBind('192.0.2.1', 0)).toBe('no-such-address');
  });

  it("default: the database's port when free, else the system picks; a reserved one is never reused", async () => {
    const busy = await hold('127.0.0.1');
    const picked = await chooseLocalPort({ localPort: undefined, port: busy, db: 'mydb' }, new Set());
    expect(picked.why).toBe('system');
    expect(picked.port).not.toBe(busy);
    const freeOne = picked.port;
    expect(await chooseLocalPort({ localPort: undefined, port: freeOne, db: 'mydb' }, new Set())).toEqual({
      port: freeOne,
      why: 'database-port',
    });
    expect(
      (await chooseLocalPort({ localPort: undefined, port: freeOne, db: 'mydb' }, new Set([freeOne]))).port,
    ).not.toBe(freeOne);
    expect((await chooseLocalPort({ localPort: 0, port: freeOne, db: 'mydb' }, new Set())).why).toBe('system');
  });

  it('a configured port in use is an error naming it', async () => {
    const busy = await hold('127.0.0.1');
    await expect(chooseLocalPort({ localPort: busy, port: 3306, db: 'mydb' }, new Set())).rejects.toThrowError(
      new RegExp(`Local port ${busy} for mydb is already in use \\(127\\.0\\.0\\.1:${busy}\\)`),
    );
  });
});

describe('finding session-manager-plugin', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('PATH first, then the standard install locations', () => {
    expect(pluginCandidates({ PATH: '/a:/b' }, 'linux')).toEqual([
      '/a/session-manager-plugin',
      '/b/session-manager-plugin',
      '/usr/local/sessionmanagerplugin/bin/session-manager-plugin',
      '/usr/local/bin/session-manager-plugin',
    ]);
    expect(pluginCandidates({ Path: 'C:\\x', ProgramFiles: 'C:\\Program Files' }, 'win32')).toEqual([
      'C:\\x\\session-manager-plugin.exe',
      'C:\\Program Files\\Amazon\\SessionManagerPlugin\\bin\\session-manager-plugin.exe',
    ]);
  });

  it('finds an executable on PATH and skips one that is not executable', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-plugin-'));
    await mkdir(path.join(dir, 'a'));
    await mkdir(path.join(dir, 'b'));
    await writeFile(path.join(dir, 'a', 'session-manager-plugin'), '');
    await writeFile(path.join(dir, 'b', 'session-manager-plugin'), '#!/bin/sh\n');
    await chmod(path.join(dir, 'b', 'session-manager-plugin'), 0o755);
    expect(await findPlugin({ PATH: `${dir}/a:${dir}/b` }, 'linux')).toBe(
      path.join(dir, 'b', 'session-manager-plugin'),
    );
  });

  it('none: an error with install steps for the platform', async () => {
    try {
      // Windows' standard location follows ProgramFiles, so no real install on this machine is found.
      await findPlugin({ Path: 'C:\\nowhere', ProgramFiles: 'C:\\nowhere' }, 'win32');
      expect.unreachable();
    } catch (e) {
      expect((e as TunnelError).kind).toBe('pluginMissing');
      expect((e as TunnelError).hint).toContain('SessionManagerPluginSetup.exe');
    }
    expect(INSTALL_HINTS.darwin).toContain('brew install --cask session-manager-plugin');
    expect(INSTALL_HINTS.linux).toContain('dpkg -i');
  });
});

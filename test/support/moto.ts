// moto_server (Python moto 5): an AWS emulator nobody here wrote, as a second opinion on our EC2
// calls. Started on a free loopback port; its absence is an error, never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface Moto {
  url: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e) =>
      reject(new Error(`moto_server could not start (${e.message}). Install it: pip install 'moto[server]'`)),
    );
    child.once('exit', (code) => reject(new Error(`moto_server exited with ${code}:\n${log}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const ready = (async () => {
    for (let i = 0; i < 200; i++) {
      try {
        const r = await fetch(`${url}/moto-api/`);
        if (r.status < 500) return;
      } catch {
        // not yet listening
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`moto_server did not answer on ${url} within 20 s:\n${log}`);
  })();
  await Promise.race([ready, failed]);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

// moto_server (Python moto 5): an AWS emulator nobody here wrote, as a second opinion on our EC2
// calls. Started on a free loopback port; its absence is an error, never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';

export interface Moto {
  url: string;
  close(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  // It says when it listens (Werkzeug's " * Running on http://…" line): that line, not a poll, is the wait.
  let listening!: () => void;
  const running = new Promise<void>((resolve) => {
    listening = resolve;
  });
  const hear = (d: Buffer) => {
    log += d;
    if (log.includes('Running on http')) listening();
  };
  child.stdout!.on('data', hear);
  child.stderr!.on('data', hear);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e) =>
      reject(new Error(`moto_server could not start (${e.message}). Install it: pip install 'moto[server]'`)),
    );
    child.once('exit', (code) => reject(new Error(`moto_server exited with ${code}:\n${log}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const timer = setTimeout(() => child.kill(), 20_000); // an exit, reported by `failed` with its log
  await Promise.race([running, failed]).finally(() => clearTimeout(timer));
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

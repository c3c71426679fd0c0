// MFA codes, asked at the terminal: for a tunnel in the foreground, and by `up -d` before it hands
// its tunnels to the background supervisor (which has no terminal to ask on).
import { TunnelError } from '../errors.js';
import { visible } from '../text.js';
import type { Terminal } from './terminal.js';

/** MFA codes: asked on stderr, read from stdin (a terminal, or a pipe in scripts and tests). */
export async function askMfaCode(serial: string, term: Terminal): Promise<string> {
  await term.settle();
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: Boolean(process.stdin.isTTY) });
  try {
    const code = await new Promise<string>((resolve, reject) => {
      rl.once('close', () =>
        reject(
          new TunnelError('credentials', `No MFA code was entered for ${serial}.`, {
            hint:
              'Run dbtunnel in a terminal and type the 6-digit code ' +
              'from your MFA device (or pipe it to standard input).',
          }),
        ),
      );
      // The prompt is written by readline, not the terminal writer: the serial (from the AWS config) made visible here.
      rl.question(`MFA code for ${visible(serial)}: `, (answer) => resolve(answer.trim()));
    });
    if (!/^\d{6}$/.test(code)) {
      throw new TunnelError('credentials', 'An MFA code is 6 digits.', {
        hint: 'Run again and type the code your MFA device shows.',
      });
    }
    return code;
  } finally {
    rl.close();
  }
}

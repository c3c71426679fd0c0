// The production guard: an environment marked `confirm: true` opens only after a y on a terminal,
// or with --yes. Asked by the process the person is at (a foreground tunnel, or `up -d` before it
// starts its background dbtunnels, which are then told --yes).
import { TunnelError } from '../errors.js';
import type { Terminal } from './terminal.js';

/** The production guard: a banner and y/N on a terminal; without one, --yes is needed. */
export async function confirmProduction(env: string, dbs: string[], term: Terminal): Promise<void> {
  const what = `${env} (${dbs.join(', ')})`;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new TunnelError(
      'notConfirmed',
      `Environment ${env} asks for confirmation, and there is no terminal to ask on.`,
      {
        hint: `Pass --yes to open ${what} without asking.`,
      },
    );
  }
  term.notice(
    `\n${term.paint('red', '█')} ${term.paint('bold', `${env} is marked confirm: true`)} ` +
      `— you are about to open ${what}.`,
  );
  const answer = await ask('Open it? [y/N] ');
  if (!/^y(es)?$/i.test(answer.trim())) {
    throw new TunnelError('notConfirmed', `Not opened: ${env} was not confirmed.`, {
      hint: 'Answer y to open it, or pass --yes in scripts.',
    });
  }
}

/** A paid call: y/N on a terminal; without one, the flag that says yes is needed. */
export async function confirmCost(what: string, question: string, flag: string, term: Terminal): Promise<void> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new TunnelError('notConfirmed', `${what} There is no terminal to ask on.`, {
      hint: `Pass ${flag} to run it without asking.`,
    });
  }
  term.notice(what);
  if (!/^y(es)?$/i.test((await ask(`${question} [y/N] `)).trim())) {
    throw new TunnelError('notConfirmed', 'Nothing was run: it was not confirmed.', {
      hint: `Answer y to run it, or pass ${flag} in scripts.`,
    });
  }
}

async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline'); // only to ask: 4 built-in modules a tunnel need not load
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => {
    rl.once('close', () => resolve(''));
    rl.question(question, (a) => resolve(a));
  });
  rl.close();
  return answer;
}

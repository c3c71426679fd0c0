// The build points yargs and ora at src/cli/string-width.ts, which answers printable ASCII itself (one
// column per character) and hands everything else to string-width. An A/B kept it: ~30 ms to ready on
// Node 22 (bench/patches.ts). Its one assumption, checked against the real string-width here, so that
// an upgrade that changes what string-width says fails this test rather than yargs' layout.
import stringWidth from 'string-width';
import { expect, it } from 'vitest';

it('printable ASCII is one column per character, as string-width says', () => {
  const ascii = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
  for (const text of [
    ascii,
    'dbtunnel <env> [db…]'.replace('…', '...'),
    '--max-reconnects  Reconnect attempts per outage',
    '',
  ]) {
    expect(stringWidth(text)).toBe(text.length);
  }
  // What the shim does not answer itself is not one column per character.
  expect(stringWidth('日本')).toBe(4);
  expect(stringWidth('\u001b[1mx\u001b[22m')).toBe(1);
});

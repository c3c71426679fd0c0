// Text that came from outside (arguments, config values, AWS's error text, the plugin's lines) as it
// may be shown on a terminal. Pure.

/**
 * Control characters made visible: C0 (but newline and tab), DEL, C1, and the Unicode controls that
 * reorder or hide text. An escape sequence from a config or an error message could otherwise set
 * the terminal's title, clear the screen or rewrite what is shown (`\x1b]0;…\x07`, `\x1bc`).
 */
export function visible(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A value quoted for a message, and cut short: at most `max` characters of it are shown. */
export function excerpt(value: string, max = 60): string {
  const quoted = JSON.stringify(value);
  if (quoted.length <= max + 2) return quoted;
  return `${quoted.slice(0, max + 1).replace(/\\[^"]{0,5}$/, '')}…" (${value.length} characters)`;
}

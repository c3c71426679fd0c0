// The two checks yargs imports from node:assert for its own invariants (a command's handler result,
// a frozen parser state). node:assert loads five more built-in modules at every start, for checks
// that only fail on a bug in yargs. The build (scripts/build.mjs) gives yargs these instead; they throw
// as node:assert would, with the same code and comparison (Object.is).
class AssertionError extends Error {
  readonly code = 'ERR_ASSERTION';
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

export function strictEqual(actual: unknown, expected: unknown, message?: string | Error): void {
  if (Object.is(actual, expected)) return;
  if (message instanceof Error) throw message;
  throw new AssertionError(
    message ?? `Expected values to be strictly equal: ${String(actual)} !== ${String(expected)}`,
  );
}

export function notStrictEqual(actual: unknown, expected: unknown, message?: string | Error): void {
  if (!Object.is(actual, expected)) return;
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? `Expected "actual" to be strictly unequal to: ${String(expected)}`);
}

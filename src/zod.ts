// zod's small build (zod/mini): the same validation and issues as the classic API at a tenth of its
// size, which is load time on every config read. Its messages come from the English locale alone.
// Re-exported with `export *` and imported as `import * as z`: a namespace object passed on as a
// value (`export { z }`) would make the bundler keep every export of zod, all locales included.
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';

// zod's small build (zod/mini): the same validation and issues as the classic API at a tenth of its
// size, which is load time on every config read. Its messages come from the English locale alone.
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

export { z };

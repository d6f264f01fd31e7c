// Zod compiles object parsers with `new Function` unless told not to, and merely probing whether
// it may do so is a CSP violation under script-src 'self'. This module is imported first, before
// any shared schema is built, because zod reads the setting when a schema is constructed.
import { z } from 'zod';

z.config({ jitless: true });

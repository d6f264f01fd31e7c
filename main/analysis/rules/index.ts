// Every lint rule, in the order findings are listed for a statement.
import { dropColumn } from './drop-column';
import type { Rule } from './rule';

export const allRules: Rule[] = [dropColumn];

import type { Rule } from './rule';

export const mysqlCopyAlgorithm: Rule = {
  id: 'mysql-copy-algorithm',
  title: 'MySQL DDL that copies the table or locks it',
  severity: 'warning',
  why: 'ALGORITHM=COPY rebuilds the table row by row while writes wait (LOCK=SHARED) or everything waits (LOCK=EXCLUSIVE), for as long as the copy takes; on a large table that is an outage. Online DDL (INSTANT or INPLACE with LOCK=NONE) lets reads and writes continue.',
  engines: ['mysql'],
  examples: {
    bad: [
      'ALTER TABLE orders MODIFY COLUMN total DECIMAL(14,2) NOT NULL;',
      'ALTER TABLE orders ADD INDEX orders_status (status), ALGORITHM=COPY;',
      'ALTER TABLE orders ADD COLUMN note VARCHAR(40), LOCK=EXCLUSIVE;',
    ],
    good: [
      'ALTER TABLE orders ADD COLUMN note VARCHAR(40), ALGORITHM=INSTANT;',
      'ALTER TABLE orders ADD INDEX orders_status (status), ALGORITHM=INPLACE, LOCK=NONE;',
      'CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB;\nALTER TABLE t MODIFY COLUMN id BIGINT;',
    ],
  },
  checkMysqlStatement(ctx) {
    const a = ctx.analysis;
    if (!a?.online) return [];
    const table = a.rewrites[0] ?? a.scans[0] ?? a.changes[0]?.table ?? 'the table';
    if (ctx.createdEarlier.has(table)) return [];
    const { algorithm, lock, explicit } = a.online;
    if (algorithm !== 'COPY' && lock === 'NONE') return [];
    const what = lock === 'EXCLUSIVE' ? 'reads and writes wait' : 'writes wait';
    return [
      {
        message: `${a.command} on ${table} runs with ALGORITHM=${algorithm}, LOCK=${lock}${explicit ? ' (stated in the file)' : ' (the server\'s default for this operation)'}: ${what} for the whole ${algorithm === 'COPY' ? 'copy' : 'operation'}.`,
        rewrite:
          algorithm === 'COPY'
            ? `State the online form and let the server refuse it if the operation cannot run online:\n  ${ctx.statement.text.replace(/,\s*(ALGORITHM|LOCK)\s*=\s*\w+/gi, '').replace(/;?\s*$/, '')}, ALGORITHM=INPLACE, LOCK=NONE;\nIf it is refused (a type change, a charset conversion), copy online with gh-ost or pt-online-schema-change instead of ALTER TABLE.`
            : `Drop the LOCK clause, or ask for LOCK=NONE:\n  ${ctx.statement.text.replace(/,\s*LOCK\s*=\s*\w+/gi, '').replace(/;?\s*$/, '')}, LOCK=NONE;`,
      },
    ];
  },
};

import { sqlOf } from './index-without-concurrently';
import type { Rule, RuleHit } from './rule';

export const transactionControlInFile: Rule = {
  id: 'transaction-control-in-file',
  title: 'BEGIN / COMMIT written in the migration file',
  severity: 'info',
  why: 'Whether a file\'s own BEGIN and COMMIT work depends on the tool that runs it. Flightdeck turns them into its own transaction boundaries, and golang-migrate sends the file as written, so there they are the transaction. Tools that wrap each file in a transaction themselves (psql -1 / --single-transaction, Flyway, tern, most ORM runners) ignore the BEGIN with a warning ("there is already a transaction in progress") and the file\'s COMMIT ends their transaction early: what follows it is no longer undone on failure, and the version may be recorded separately from the change. A ROLLBACK, or a BEGIN that is never committed, breaks every tool.',
  engines: ['postgres'],
  examples: {
    bad: [
      "BEGIN;\nALTER TABLE users ADD COLUMN status text;\nUPDATE users SET status = 'active' WHERE id = 1;\nCOMMIT;",
      'START TRANSACTION;\nCREATE TABLE invoices (id bigint PRIMARY KEY);\nEND;',
      'BEGIN;\nALTER TABLE users ADD COLUMN status text;\nROLLBACK;',
      'BEGIN;\nALTER TABLE users ADD COLUMN status text;',
    ],
    good: [
      "ALTER TABLE users ADD COLUMN status text;\nUPDATE users SET status = 'active' WHERE id = 1;",
      "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY users_status_idx ON users (status);",
    ],
  },
  checkFile(ctx) {
    const hits: RuleHit[] = [];
    const body = ctx.statements.filter((s) => !s.control || s.control === 'other');
    const withoutControl = `${body.map(sqlOf).join('\n')}\n-- without BEGIN/COMMIT: Flightdeck runs the file's statements in one transaction (and statements that cannot run in one, on their own).`;
    let open: (typeof ctx.statements)[number] | undefined;
    for (const s of ctx.statements) {
      if (s.control === 'begin') {
        if (open) {
          hits.push({ line: s.line, severity: 'error', message: `BEGIN on line ${s.line} inside the transaction the file began on line ${open.line}: PostgreSQL only warns, and the first COMMIT ends both. Flightdeck refuses to start this file.`, rewrite: 'Remove the nested BEGIN (and its COMMIT), keeping one block, or none:\n' + withoutControl });
          continue;
        }
        open = s;
      } else if (s.control === 'commit') {
        if (!open) {
          hits.push({ line: s.line, severity: 'error', message: `COMMIT on line ${s.line} with no BEGIN before it in the file: it commits whatever transaction the tool opened, part-way through the file. Flightdeck refuses to start this file.`, rewrite: 'Remove the COMMIT, or add the BEGIN it closes:\n' + withoutControl });
          continue;
        }
        hits.push({
          line: open.line,
          message: `The file has its own BEGIN (line ${open.line}) … COMMIT (line ${s.line}). Flightdeck turns them into its own transaction boundaries; psql -1, Flyway, tern and other tools that wrap a file in a transaction ignore the BEGIN and commit early at the file's COMMIT, so a failure after it is no longer rolled back.`,
          rewrite: `Leave transactions to the runner:\n${withoutControl}\n-- If the set is also run by golang-migrate (which adds no transaction), keep them: this finding is information only.`,
        });
        open = undefined;
      } else if (s.control === 'rollback') {
        hits.push({ line: s.line, severity: 'error', message: `ROLLBACK on line ${s.line} silently undoes the statements before it while the tool records the migration as applied. Flightdeck refuses to start this file.`, rewrite: `Remove the ROLLBACK. To try a migration without keeping it, rehearse it on staging (Flightdeck's rehearsal) instead:\n${withoutControl}` });
        open = undefined;
      }
    }
    if (open) {
      hits.push({ line: open.line, severity: 'error', message: `BEGIN on line ${open.line} is never committed: the tool's session stays in an open transaction holding every lock taken since, until the connection closes and it all rolls back. Flightdeck refuses to start this file.`, rewrite: `Add COMMIT; at the end of the block, or drop the BEGIN:\n${withoutControl}` });
    }
    return hits;
  },
};

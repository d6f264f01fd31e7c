import type { Rule } from './rule';

export const mongoValidatorChange: Rule = {
  id: 'mongo-validator-change',
  title: 'Validator tightened with validationAction "error" in one step',
  severity: 'warning',
  why: 'A new validator applies to every later write at once: old code (or a document already in the collection, on its next update) that does not match starts failing, and nothing tells you beforehand how many would.',
  engines: ['mongodb'],
  examples: {
    bad: ["module.exports = { async up(db) { await db.command({ collMod: 'customers', validator: { $jsonSchema: { required: ['email'] } } }); }, async down(db) { await db.command({ collMod: 'customers', validator: {} }); } };"],
    good: [
      "module.exports = { async up(db) { await db.command({ collMod: 'customers', validator: { $jsonSchema: { required: ['email'] } }, validationAction: 'warn' }); }, async down(db) {} };",
      "module.exports = { async up(db) { await db.collection('customers').createIndex({ email: 1 }); }, async down(db) {} };",
    ],
  },
  checkMongoCall(ctx) {
    const c = ctx.call;
    if (c.command !== 'db.command({collMod})' || c.fn !== 'up') return [];
    if (/validationAction\s*:\s*['"]warn['"]/.test(c.text) || !/validator/.test(c.text)) return [];
    return [
      {
        message: `collMod on ${c.collection ?? 'a collection'} applies a validator that rejects non-matching writes immediately.`,
        rewrite: `1) Apply it with validationAction: 'warn' and watch the server log for a release; 2) find existing documents that fail it: db.collection('${c.collection ?? 'coll'}').find({ $nor: [<the validator>] }).count(); fix them; 3) then collMod again with validationAction: 'error'.`,
      },
    ];
  },
};

import type { Rule } from './rule';

export const mongoDropCollection: Rule = {
  id: 'mongo-drop-collection',
  title: 'Collection dropped or renamed while the application may still use it',
  severity: 'error',
  why: 'Code still reading the old collection gets empty results (MongoDB does not fail a read of a missing collection) and code writing to it silently creates a new one: the break is quiet, and a dropped collection comes back only from a backup.',
  engines: ['mongodb'],
  examples: {
    bad: [
      "module.exports = { async up(db) { await db.collection('legacy_events').drop(); }, async down(db) { await db.createCollection('legacy_events'); } };",
      "module.exports = { async up(db) { await db.renameCollection('orders', 'purchases'); }, async down(db) { await db.renameCollection('purchases', 'orders'); } };",
      "export async function up(db) { await db.collection('carts').rename('baskets'); }\nexport async function down(db) { await db.collection('baskets').rename('carts'); }",
    ],
    good: [
      "module.exports = { async up(db) { await db.createCollection('events'); await db.collection('events').drop(); }, async down(db) {} };",
      "module.exports = { async up(db) { await db.collection('orders').createIndex({ status: 1 }); }, async down(db) { await db.collection('orders').dropIndex('status_1'); } };",
    ],
  },
  checkMongoCall(ctx) {
    const c = ctx.call;
    if (c.fn !== 'up' || c.class !== 'backward-incompatible' || !c.changes.length) return [];
    if (c.collection && ctx.createdEarlier.has(c.collection)) return [];
    const ch = c.changes[0]!;
    if (ch.kind === 'drop-table') {
      return [{ message: `Drops collection ${ch.table} in one step.`, rewrite: `1) Deploy code that no longer reads or writes ${ch.table}; 2) rename it aside in a later migration (db.collection('${ch.table}').rename('${ch.table}_retired')) so a mistake is one rename away; 3) drop ${ch.table}_retired a release later, after a backup.` }];
    }
    return [{ message: `Renames collection ${ch.table}${ch.to ? ` to ${ch.to}` : ''} while old code may still use ${ch.table}.`, rewrite: `Expand-contract: 1) create ${ch.to ?? 'the new collection'} and make the code write to both; 2) copy the existing documents in batches; 3) switch reads; 4) drop ${ch.table} in a later release. MongoDB has no view that accepts writes, so the old name cannot stay as an alias.` }];
  },
};

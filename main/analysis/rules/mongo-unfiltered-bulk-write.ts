import type { Rule } from './rule';

export const mongoUnfilteredBulkWrite: Rule = {
  id: 'mongo-unfiltered-bulk-write',
  title: 'updateMany / deleteMany over a whole collection in one operation',
  severity: 'warning',
  why: 'One updateMany over every document runs for as long as the collection is large, fills the oplog (secondaries lag, change streams fall behind) and cannot be paused; if it fails half-way, part of the collection is changed and the migration record cannot say which part.',
  engines: ['mongodb'],
  examples: {
    bad: [
      "module.exports = { async up(db) { await db.collection('orders').updateMany({}, { $set: { status: 'new' } }); }, async down(db) { await db.collection('orders').updateMany({}, { $unset: { status: '' } }); } };",
      "module.exports = { async up(db) { await db.collection('sessions').deleteMany({}); }, async down() {} };",
    ],
    good: [
      "module.exports = { async up(db) { await db.collection('orders').updateMany({ status: { $exists: false }, _id: { $lt: 1000 } }, { $set: { status: 'new' } }); }, async down(db) {} };",
      "module.exports = { async up(db) { await db.createCollection('tmp'); await db.collection('tmp').deleteMany({}); }, async down(db) {} };",
    ],
  },
  checkMongoCall(ctx) {
    const c = ctx.call;
    if (!c.unfiltered || (c.collection && ctx.createdEarlier.has(c.collection))) return [];
    return [
      {
        message: `${c.command} on ${c.collection ?? 'a collection'} with an empty filter changes every document in one operation.`,
        rewrite: `Batch it by _id, with a pause between batches so the oplog and the secondaries keep up:\nlet last = null;\nfor (;;) {\n  const ids = await db.collection('${c.collection ?? 'coll'}').find(last ? { _id: { $gt: last } } : {}, { projection: { _id: 1 } }).sort({ _id: 1 }).limit(1000).map((d) => d._id).toArray();\n  if (!ids.length) break;\n  await db.collection('${c.collection ?? 'coll'}').${c.command.startsWith('delete') ? 'deleteMany({ _id: { $in: ids } })' : 'updateMany({ _id: { $in: ids } }, /* the same update */)'};\n  last = ids[ids.length - 1];\n}`,
      },
    ];
  },
};

// The MongoDB schema fingerprint without a server: what listCollections and listIndexes report is
// normalised so that two equal databases give the same hash (key order in options and filters,
// number types, server-made details such as index versions and ICU versions), while what makes a
// schema different (an index key's order, unique, a partial filter, a validator) shows in the diff,
// in the format the SQL engines use.
import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { canonicalJson, diffSchemas, fingerprintOf, formatSchemaDiff, isMongoBookkeeping, mongoSchemaEntries, type MongoCollectionInfo, type MongoIndexInfo } from '../../main/schema/schema-fingerprint';

const collation = { locale: 'en', caseLevel: false, caseFirst: 'off', strength: 2, numericOrdering: false, alternate: 'non-ignorable', maxVariable: 'punct', normalization: false, backwards: false, version: '57.1' };

function shop(): { collections: MongoCollectionInfo[]; indexes: Map<string, MongoIndexInfo[]> } {
  return {
    collections: [
      {
        name: 'customers',
        type: 'collection',
        options: {
          validator: { $jsonSchema: { bsonType: 'object', required: ['email'], properties: { email: { bsonType: 'string' }, age: { bsonType: 'int', minimum: 0 } } } },
          validationLevel: 'strict',
          validationAction: 'error',
        },
      },
      { name: 'events', type: 'collection', options: { capped: true, size: 1048576, max: 1000 } },
      { name: 'metrics', type: 'timeseries', options: { timeseries: { timeField: 'ts', metaField: 'host', granularity: 'seconds', bucketMaxSpanSeconds: 3600 }, expireAfterSeconds: 86400 } },
      { name: 'names', type: 'collection', options: { collation } },
      { name: 'orders_by_customer', type: 'view', options: { viewOn: 'orders', pipeline: [{ $match: { status: 'paid' } }, { $group: { _id: '$customer_id', n: { $sum: 1 } } }, { $sort: { n: -1, _id: 1 } }] } },
      { name: 'orders', type: 'collection', options: {} },
      // Not the application's: left out.
      { name: 'changelog', type: 'collection', options: {} },
      { name: 'changelog_lock', type: 'collection', options: {} },
      { name: 'flightdeck_migrations', type: 'collection', options: {} },
      { name: 'flightdeck_probe_ab12cd34', type: 'collection', options: {} },
      { name: 'system.views', type: 'collection', options: {} },
      { name: 'system.buckets.metrics', type: 'collection', options: {} },
    ],
    indexes: new Map<string, MongoIndexInfo[]>([
      ['customers', [
        { v: 2, key: { _id: 1 }, name: '_id_' },
        { v: 2, key: { email: 1 }, name: 'email_1', unique: true, collation },
      ]],
      ['orders', [
        { v: 2, key: { _id: 1 }, name: '_id_' },
        { v: 2, key: { customer_id: 1, created: -1 }, name: 'customer_id_1_created_-1', partialFilterExpression: { status: { $in: ['paid', 'shipped'] }, total: { $gt: 0 } } },
        { v: 2, key: { created: 1 }, name: 'created_1', expireAfterSeconds: 2592000, sparse: true, background: true },
        { v: 2, key: { _fts: 'text', _ftsx: 1 }, name: 'note_text', weights: { note: 1, title: 10 }, default_language: 'english', language_override: 'language', textIndexVersion: 3 },
      ]],
      ['changelog', [{ v: 2, key: { fileName: 1 }, name: 'fileName_1', unique: true }]],
    ]),
  };
}

/** The same database as another server (or another client) would report it. */
function shopAsAnotherServerSaysIt(): { collections: MongoCollectionInfo[]; indexes: Map<string, MongoIndexInfo[]> } {
  const { collections, indexes } = shop();
  // listCollections in another order, options and filter keys in another order, numbers as Int32/Long.
  const reordered = [...collections].reverse().map((c) => {
    if (c.name === 'customers') {
      return {
        ...c,
        options: {
          validationAction: 'error',
          validationLevel: 'strict',
          validator: { $jsonSchema: { properties: { age: { minimum: new BSON.Int32(0), bsonType: 'int' }, email: { bsonType: 'string' } }, required: ['email'], bsonType: 'object' } },
        },
      };
    }
    if (c.name === 'events') return { ...c, options: { max: BSON.Long.fromNumber(1000), size: new BSON.Double(1048576), capped: true } };
    if (c.name === 'names') return { ...c, options: { collation: { ...collation, version: '66.1' } } };
    return c;
  });
  const orders = indexes.get('orders')!.map((i) =>
    i.name === 'customer_id_1_created_-1'
      ? { name: i.name, partialFilterExpression: { total: { $gt: new BSON.Int32(0) }, status: { $in: ['paid', 'shipped'] } }, key: i.key, v: 1 }
      : i.name === 'note_text'
        ? { ...i, textIndexVersion: 2, weights: { title: 10, note: 1 } }
        : { ...i, v: 1 },
  );
  return { collections: reordered, indexes: new Map([...indexes, ['orders', orders.reverse()]]) };
}

const fingerprint = (s: { collections: MongoCollectionInfo[]; indexes: Map<string, MongoIndexInfo[]> }) => fingerprintOf(mongoSchemaEntries(s.collections, s.indexes));

describe('MongoDB schema fingerprint', () => {
  it('describes collections, validators, indexes and views, leaving out bookkeeping and system collections', () => {
    const f = fingerprint(shop());
    expect(f.entries.map((e) => e.key)).toEqual([
      'collection customers',
      'collection events',
      'collection metrics',
      'collection names',
      'collection orders',
      'index customers._id_',
      'index customers.email_1',
      'index orders._id_',
      'index orders.created_1',
      'index orders.customer_id_1_created_-1',
      'index orders.note_text',
      'validator customers',
      'view orders_by_customer',
    ]);
    const def = (key: string) => f.entries.find((e) => e.key === key)!.definition;
    expect(def('collection events')).toBe('collection capped=true max=1000 size=1048576');
    expect(def('collection metrics')).toBe('timeseries expireAfterSeconds=86400 timeseries={"bucketMaxSpanSeconds":3600,"granularity":"seconds","metaField":"host","timeField":"ts"}');
    expect(def('collection orders')).toBe('collection');
    // The ICU version the server was built with is not part of the collation.
    expect(def('collection names')).not.toContain('57.1');
    expect(def('validator customers')).toBe('{"$jsonSchema":{"bsonType":"object","properties":{"age":{"bsonType":"int","minimum":0},"email":{"bsonType":"string"}},"required":["email"]}} level=strict action=error');
    expect(def('index customers.email_1')).toMatch(/^\{"email":1\} unique collation=\{"alternate":"non-ignorable",.*"strength":2\}$/);
    expect(def('index orders.customer_id_1_created_-1')).toBe('{"customer_id":1,"created":-1} partialFilterExpression={"status":{"$in":["paid","shipped"]},"total":{"$gt":0}}');
    // background is ignored by the server since 4.2; v and textIndexVersion say which server built it.
    expect(def('index orders.created_1')).toBe('{"created":1} sparse expireAfterSeconds=2592000');
    expect(def('index orders.note_text')).toBe('{"_fts":"text","_ftsx":1} default_language="english" language_override="language" weights={"note":1,"title":10}');
    expect(def('view orders_by_customer')).toBe('on orders pipeline [{"$match":{"status":"paid"}},{"$group":{"_id":"$customer_id","n":{"$sum":1}}},{"$sort":{"n":-1,"_id":1}}]');
  });

  it('gives two equal databases the same hash, whatever order and number types the server reports', () => {
    const a = fingerprint(shop());
    const b = fingerprint(shopAsAnotherServerSaysIt());
    expect(b.entries).toEqual(a.entries);
    expect(b.hash).toBe(a.hash);
    expect(diffSchemas(a, b).same).toBe(true);
    expect(formatSchemaDiff(diffSchemas(a, b))).toBe('The schemas are identical.');
  });

  it('keeps the order of an index key (a different index) and of a pipeline, but not of a filter', () => {
    expect(canonicalJson({ b: 1, a: -1 }, false)).toBe('{"b":1,"a":-1}');
    expect(canonicalJson({ b: 1, a: -1 })).toBe('{"a":-1,"b":1}');
    const a = fingerprint(shop());
    const swapped = shop();
    swapped.indexes.set('orders', swapped.indexes.get('orders')!.map((i) => (i.name === 'customer_id_1_created_-1' ? { ...i, key: { created: -1, customer_id: 1 } } : i)));
    const d = diffSchemas(a, fingerprint(swapped));
    expect(d.changed.map((c) => [c.key, c.before.split(' ')[0], c.after.split(' ')[0]])).toEqual([['index orders.customer_id_1_created_-1', '{"customer_id":1,"created":-1}', '{"created":-1,"customer_id":1}']]);
    const sortedView = shop();
    sortedView.collections = sortedView.collections.map((c) => (c.name === 'orders_by_customer' ? { ...c, options: { ...c.options, pipeline: [{ $match: { status: 'paid' } }, { $group: { _id: '$customer_id', n: { $sum: 1 } } }, { $sort: { _id: 1, n: -1 } }] } } : c));
    expect(diffSchemas(a, fingerprint(sortedView)).changed.map((c) => c.key)).toEqual(['view orders_by_customer']);
  });

  it('names each collection whose index, validator or options differ, in the SQL engines\' diff format', () => {
    const production = fingerprint(shop());
    const s = shop();
    // Staging: the email index is not unique, the TTL is a day, a validator is missing, an index is extra, a collection is missing.
    s.indexes.set('customers', [{ v: 2, key: { _id: 1 }, name: '_id_' }, { v: 2, key: { email: 1 }, name: 'email_1', collation }]);
    s.indexes.set('orders', [...s.indexes.get('orders')!.map((i) => (i.name === 'created_1' ? { ...i, expireAfterSeconds: 86400 } : i)), { v: 2, key: { status: 1 }, name: 'status_1' }]);
    s.collections = s.collections.filter((c) => c.name !== 'events').map((c) => (c.name === 'customers' ? { ...c, options: {} } : c));
    // Bookkeeping collections differ too, and must not count.
    s.collections.push({ name: 'flightdeck_lock', type: 'collection', options: {} });
    s.indexes.set('changelog', []);
    const staging = fingerprint(s);
    const d = diffSchemas(production, staging);
    expect(d.same).toBe(false);
    expect(d.removed.map((e) => e.key)).toEqual(['collection events', 'validator customers']);
    expect(d.added.map((e) => e.key)).toEqual(['index orders.status_1']);
    expect(d.changed.map((c) => c.key)).toEqual(['index customers.email_1', 'index orders.created_1']);
    const text = formatSchemaDiff(d, ['production', 'staging']);
    expect(text).toContain('Schema differences (- only in production, + only in staging, ~ different):');
    expect(text).toContain('- collection events: collection capped=true max=1000 size=1048576');
    expect(text).toContain('+ index orders.status_1: {"status":1}');
    expect(text).toMatch(/~ index customers\.email_1:\n {4}production: \{"email":1\} unique collation=.*\n {4}staging: \{"email":1\} collation=/);
    expect(text).toContain('~ index orders.created_1:\n    production: {"created":1} sparse expireAfterSeconds=2592000\n    staging: {"created":1} sparse expireAfterSeconds=86400');
  });

  it('fills in the server\'s defaults for a validator\'s level and action, so stating them changes nothing', () => {
    const a = mongoSchemaEntries([{ name: 'c', options: { validator: { x: { $exists: true } } } }], new Map());
    const b = mongoSchemaEntries([{ name: 'c', type: 'collection', options: { validator: { x: { $exists: true } }, validationLevel: 'strict', validationAction: 'error' } }], new Map());
    expect(fingerprintOf(a).hash).toBe(fingerprintOf(b).hash);
    const warn = mongoSchemaEntries([{ name: 'c', options: { validator: { x: { $exists: true } }, validationAction: 'warn' } }], new Map());
    expect(fingerprintOf(warn).hash).not.toBe(fingerprintOf(a).hash);
  });

  it('keeps types that matter: a date, an ObjectId and a regular expression are not strings', () => {
    const d = new Date('2024-01-01T00:00:00Z');
    expect(canonicalJson({ at: d })).toBe('{"at":{"$date":"2024-01-01T00:00:00Z"}}');
    expect(canonicalJson({ at: d.toISOString() })).not.toBe(canonicalJson({ at: d }));
    expect(canonicalJson({ id: new BSON.ObjectId('65a000000000000000000001') })).toBe('{"id":{"$oid":"65a000000000000000000001"}}');
    expect(canonicalJson({ name: /^a/i })).toBe('{"name":{"$regularExpression":{"options":"i","pattern":"^a"}}}');
  });

  it('treats only system.*, changelog, changelog_lock and flightdeck_* as bookkeeping', () => {
    expect(['system.profile', 'changelog', 'changelog_lock', 'flightdeck_migration_steps', 'flightdeck_lock'].every(isMongoBookkeeping)).toBe(true);
    expect(['changelogs', 'my_changelog', 'flightdeck', 'systems', 'orders'].some(isMongoBookkeeping)).toBe(false);
  });
});

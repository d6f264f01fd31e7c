// The MongoDB backup without a server: the mongodump and mongorestore command lines (the password
// never on them, only in a private --config file), the archive read back to its end (the format of
// the Database Tools' common/archive: magic number, prelude, namespace blocks, EOF blocks with a
// CRC-64 per collection), and the whole backup check with stand-in mongodump and mongorestore
// scripts that record what they were given and write an archive made here by the format's spec.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { BSON } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightdeckError } from '../../shared/errors';
import type { Profile } from '../../shared/profile';
import { Crc64, dumpDatabase, mongoToolPlan, parseRestoreDryRun, readMongoArchive, yamlQuoted } from '../../main/backup/dump';
import type { OpenConnection } from '../../main/connections/connect';
import { backupDump } from '../../main/phases/phase0/checks/backup-dump';
import { defaultPhase0Settings, type Phase0Context } from '../../main/phases/phase0/context';

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-mongodump-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

function profile(over: Partial<Profile> = {}): Profile {
  return { id: 'p', name: 'shop production', engine: 'mongodb', environment: 'production', host: 'db1.example.com', port: 27017, database: 'shop', user: 'backup@ops', tls: { mode: 'disable' }, connectTimeoutMs: 10_000, ...over };
}
function conn(p: Profile, ssh?: { localPort: number }): OpenConnection {
  return {
    profile: p,
    session: { engine: 'mongodb' } as OpenConnection['session'],
    route: { address: `${p.host}:${p.port}`, ...(ssh ? { ssh: { host: 'bastion.example.com', port: 22, localPort: ssh.localPort } } : {}) },
    close: async () => undefined,
  };
}
const files = { archive: '/backups/shop.archive.gz', config: '/tmp/fd-x/mongodump.yaml', pem: '/tmp/fd-x/client.pem' };
const password = 'p@ss w:rd/"\\ë😀';

describe('mongodump and mongorestore command lines', () => {
  it('passes the password only through the --config file, never on the command line', () => {
    const plan = mongoToolPlan(conn(profile()), password, files);
    expect(plan.uri).toBe('mongodb://backup%40ops@db1.example.com:27017/?authSource=shop&tls=false&appName=flightdeck%2Fbackup&connectTimeoutMS=10000');
    expect(plan.dumpArgs).toEqual([`--uri=${plan.uri}`, `--config=${files.config}`, '--db=shop', `--archive=${files.archive}`, '--gzip']);
    expect(plan.restoreArgs).toEqual([`--uri=${plan.uri}`, `--config=${files.config}`, `--archive=${files.archive}`, '--gzip', '--dryRun', '--verbose']);
    for (const arg of [...plan.dumpArgs, ...plan.restoreArgs]) {
      expect(arg).not.toContain('p@ss');
      expect(decodeURIComponent(arg)).not.toContain('p@ss');
    }
    expect(plan.configText).toBe('password: "p@ss w:rd/\\"\\\\\\u00eb\\U0001f600"\n');
  });

  it('writes any password as a YAML double-quoted string of printable ASCII', () => {
    expect(yamlQuoted('plain')).toBe('"plain"');
    expect(yamlQuoted('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(yamlQuoted('tab\tnl\ncr\r')).toBe('"tab\\u0009nl\\u000acr\\u000d"');
    expect(yamlQuoted('del\u007f nbsp\u00a0 é 😀')).toBe('"del\\u007f nbsp\\u00a0 \\u00e9 \\U0001f600"');
    expect(yamlQuoted('#: -{}[]&*!|>\'%@`')).toBe('"#: -{}[]&*!|>\'%@`"');
  });

  it('has no --config without a password, and no authSource without a user', () => {
    const plan = mongoToolPlan(conn(profile({ user: '' })), undefined, files);
    expect(plan.configText).toBeNull();
    expect(plan.uri).toBe('mongodb://db1.example.com:27017/?tls=false&appName=flightdeck%2Fbackup&connectTimeoutMS=10000');
    expect(plan.dumpArgs.some((a) => a.startsWith('--config'))).toBe(false);
  });

  it('takes the profile\'s authSource, replica set and SRV as the driver does', () => {
    const rs = mongoToolPlan(conn(profile({ mongo: { authSource: 'admin', replicaSet: 'rs0' } })), 'x', files);
    expect(rs.uri).toBe('mongodb://backup%40ops@db1.example.com:27017/?authSource=admin&replicaSet=rs0&tls=false&appName=flightdeck%2Fbackup&connectTimeoutMS=10000');
    const srv = mongoToolPlan(conn(profile({ host: 'cluster0.example.com', mongo: { srv: true }, tls: { mode: 'verify-full' } })), 'x', files);
    expect(srv.uri).toBe('mongodb+srv://backup%40ops@cluster0.example.com/?authSource=shop&tls=true&appName=flightdeck%2Fbackup&connectTimeoutMS=10000');
    const direct = mongoToolPlan(conn(profile({ host: '::1', mongo: { directConnection: true } })), 'x', files);
    expect(direct.uri).toContain('mongodb://backup%40ops@[::1]:27017/?authSource=shop&directConnection=true&');
  });

  it('goes through the SSH tunnel\'s local port with directConnection, never to the replica set\'s hosts', () => {
    const plan = mongoToolPlan(conn(profile({ mongo: { replicaSet: 'rs0', srv: true } }), { localPort: 40123 }), 'x', files);
    expect(plan.uri).toBe('mongodb://backup%40ops@127.0.0.1:40123/?authSource=shop&directConnection=true&tls=false&appName=flightdeck%2Fbackup&connectTimeoutMS=10000');
  });

  it('carries the profile\'s TLS as connection-string options: CA, client certificate, and no verification only for require', () => {
    const verify = mongoToolPlan(conn(profile({ tls: { mode: 'verify-full', caFile: '/etc/ssl/ca dir/ca.pem', certFile: '/etc/ssl/client.pem' } })), 'x', files);
    expect(verify.uri).toContain('&tls=true&tlsCAFile=%2Fetc%2Fssl%2Fca%20dir%2Fca.pem&tlsCertificateKeyFile=%2Fetc%2Fssl%2Fclient.pem&appName=');
    expect(verify.uri).not.toContain('tlsAllowInvalid');
    expect(verify.pemParts).toBeNull();
    const require = mongoToolPlan(conn(profile({ tls: { mode: 'require' } })), 'x', files);
    expect(require.uri).toContain('&tls=true&tlsAllowInvalidHostnames=true&');
    // Certificate and key in two files: joined into one private PEM file, as the tools want.
    const split = mongoToolPlan(conn(profile({ tls: { mode: 'verify-full', certFile: '/etc/ssl/client.crt', keyFile: '/etc/ssl/client.key' } })), 'x', files);
    expect(split.pemParts).toEqual(['/etc/ssl/client.crt', '/etc/ssl/client.key']);
    expect(split.uri).toContain(`tlsCertificateKeyFile=${encodeURIComponent(files.pem)}`);
  });

  it('refuses verify-full where the tools would check the wrong name (through a tunnel, or a certificate named otherwise)', () => {
    const through = () => mongoToolPlan(conn(profile({ tls: { mode: 'verify-full' } }), { localPort: 40123 }), 'x', files);
    expect(through).toThrow(FlightdeckError);
    expect(through).toThrow(/against the host it connects to \(127\.0\.0\.1, the SSH tunnel's end\), not against db1\.example\.com/);
    expect(() => mongoToolPlan(conn(profile({ tls: { mode: 'verify-full', serverName: 'mongo.internal' } })), 'x', files)).toThrow(/not against mongo\.internal/);
    expect(() => mongoToolPlan(conn(profile({ tls: { mode: 'require' } }), { localPort: 40123 }), 'x', files)).not.toThrow();
  });

  it('reads what mongorestore --dryRun --verbose says it found', () => {
    const out = [
      '2024-05-01T10:00:00.000+0000\tpreparing collections to restore from',
      '2024-05-01T10:00:00.001+0000\tfound collection shop.customers bson to restore to shop.customers',
      '2024-05-01T10:00:00.001+0000\tfound collection metadata from shop.customers to restore to shop.customers',
      '2024-05-01T10:00:00.001+0000\tfound collection metadata from shop.paid to restore to shop.paid',
      '2024-05-01T10:00:00.002+0000\tdry run completed',
    ].join('\n');
    expect(parseRestoreDryRun(out)).toEqual({ collections: ['shop.customers'], metadata: ['shop.customers', 'shop.paid'], completed: true });
    expect(parseRestoreDryRun('Failed: stream or file does not appear to be a mongodump archive').completed).toBe(false);
  });
});

/** CRC-64/ECMA as Go's hash/crc64 (CRC-64/XZ), bit by bit: independent of the table-driven one. */
function slowCrc64(bytes: Uint8Array): bigint {
  const poly = 0xc96c5795d7870f42n;
  let crc = 0xffffffffffffffffn;
  for (const b of bytes) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

describe('CRC-64 as mongodump writes it', () => {
  it('matches the CRC-64/XZ check value and a bitwise implementation', () => {
    const check = new TextEncoder().encode('123456789');
    expect(new Crc64().update(check).digest()).toBe(0x995dc9bbdf1939fan);
    expect(slowCrc64(check)).toBe(0x995dc9bbdf1939fan);
    const data = randomBytes(4099);
    // In pieces, as documents arrive.
    expect(new Crc64().update(data.subarray(0, 1000)).update(data.subarray(1000)).digest()).toBe(slowCrc64(data));
    expect(new Crc64().digest()).toBe(0n);
  });
});

interface ArchiveCollection {
  db: string;
  name: string;
  type?: string;
  docs: Record<string, unknown>[];
}

const bson = (doc: Record<string, unknown>) => Buffer.from(BSON.serialize(doc));
const TERM = Buffer.from([0xff, 0xff, 0xff, 0xff]);

/**
 * A mongodump archive by the format's specification (common/archive/spec.md): the first
 * collection's documents come in two segments with another collection's in between, as
 * mongodump's multiplexer interleaves collections dumped in parallel.
 */
function archive(collections: ArchiveCollection[], damage: { wrongCrc?: string; noEof?: string; unwritten?: string } = {}): Buffer {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(0x8199e26d);
  const parts: Buffer[] = [magic, bson({ concurrent_collections: 4, version: '0.1', server_version: '7.0.12', tool_version: '100.9.4' })];
  for (const c of collections) parts.push(bson({ db: c.db, collection: c.name, metadata: JSON.stringify({ indexes: [], uuid: '', collectionName: c.name, type: c.type ?? 'collection' }), size: 0, type: c.type ?? 'collection' }));
  parts.push(TERM);
  const docs = collections.map((c) => c.docs.map((d) => bson(d)));
  const segment = (c: ArchiveCollection, ds: Buffer[]) => [bson({ db: c.db, collection: c.name, EOF: false, CRC: BSON.Long.fromNumber(0) }), ...ds, TERM];
  const eof = (c: ArchiveCollection, ds: Buffer[]) => {
    let crc = slowCrc64(Buffer.concat(ds));
    if (damage.wrongCrc === c.name) crc ^= 1n;
    return [bson({ db: c.db, collection: c.name, EOF: true, CRC: BSON.Long.fromBigInt(BigInt.asIntN(64, crc)) }), TERM];
  };
  const [first, ...rest] = collections;
  if (first) {
    const half = Math.ceil(docs[0]!.length / 2);
    parts.push(...segment(first, docs[0]!.slice(0, half)));
    rest.forEach((c, i) => {
      if (damage.unwritten === c.name) return;
      parts.push(...segment(c, docs[i + 1]!));
      if (damage.noEof !== c.name) parts.push(...eof(c, docs[i + 1]!));
    });
    parts.push(...segment(first, docs[0]!.slice(half)));
    if (damage.noEof !== first.name) parts.push(...eof(first, docs[0]!));
  }
  return Buffer.concat(parts);
}

const shopCollections = (): ArchiveCollection[] => [
  { db: 'shop', name: 'customers', docs: Array.from({ length: 250 }, (_, i) => ({ _id: i + 1, email: `c${i + 1}@example.com`, joined: new Date(Date.UTC(2024, 0, 1 + (i % 28))) })) },
  { db: 'shop', name: 'orders', docs: Array.from({ length: 40 }, (_, i) => ({ _id: new BSON.ObjectId(), customer_id: (i % 250) + 1, total: BSON.Decimal128.fromString(`${i}.99`) })) },
  { db: 'shop', name: 'empty', docs: [] },
  { db: 'shop', name: 'paid_orders', type: 'view', docs: [] },
];

async function writeArchive(name: string, bytes: Buffer, gzip = true): Promise<string> {
  const file = path.join(work, name);
  await fs.writeFile(file, gzip ? zlib.gzipSync(bytes) : bytes);
  return file;
}

describe('reading a mongodump archive back', () => {
  it('reads every document of every collection to the end and checks each collection\'s CRC-64', async () => {
    const r = await readMongoArchive(await writeArchive('good.archive.gz', archive(shopCollections())), { gzip: true });
    expect(r.problems).toEqual([]);
    expect(r.header).toEqual({ formatVersion: '0.1', serverVersion: '7.0.12', toolVersion: '100.9.4' });
    expect(r.namespaces.map((n) => [n.ns, n.type, n.documents, n.closed])).toEqual([
      ['shop.customers', 'collection', 250, true],
      ['shop.orders', 'collection', 40, true],
      ['shop.empty', 'collection', 0, true],
      ['shop.paid_orders', 'view', 0, true],
    ]);
    expect(r.namespaces[0]!.bytes).toBe(shopCollections()[0]!.docs.reduce((a, d) => a + bson(d).length, 0));
    // Uncompressed archives (no --gzip) read the same.
    const plain = await readMongoArchive(await writeArchive('good.archive', archive(shopCollections()), false), { gzip: false });
    expect(plain.problems).toEqual([]);
  });

  it('finds a damaged document through the collection\'s CRC-64', async () => {
    const r = await readMongoArchive(await writeArchive('crc.archive.gz', archive(shopCollections(), { wrongCrc: 'orders' })), { gzip: true });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/^shop\.orders: CRC-64 mismatch \(archive says [0-9a-f]+, the documents give [0-9a-f]+\)$/);
  });

  it('finds an archive cut short: in the gzip stream, in a document, or before a collection\'s end', async () => {
    const whole = zlib.gzipSync(archive(shopCollections()));
    const cutGzip = path.join(work, 'cut.archive.gz');
    await fs.writeFile(cutGzip, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const a = await readMongoArchive(cutGzip, { gzip: true });
    expect(a.problems.join(' ')).toMatch(/cut short|ends in the middle/);

    const raw = archive(shopCollections());
    const b = await readMongoArchive(await writeArchive('cut-doc.archive.gz', raw.subarray(0, raw.length - 40)), { gzip: true });
    expect(b.problems.join(' ')).toMatch(/ends in the middle of/);

    const c = await readMongoArchive(await writeArchive('no-eof.archive.gz', archive(shopCollections(), { noEof: 'customers' })), { gzip: true });
    expect(c.problems).toEqual(['the archive ended with 1 collection(s) unfinished: shop.customers']);

    const d = await readMongoArchive(await writeArchive('unwritten.archive.gz', archive(shopCollections(), { unwritten: 'orders' })), { gzip: true });
    expect(d.problems).toEqual(['the archive ended before 1 collection(s) it lists were written: shop.orders']);
  });

  it('says when a file is not a mongodump archive at all', async () => {
    const r = await readMongoArchive(await writeArchive('not.archive.gz', Buffer.from('-- PostgreSQL database dump\n')), { gzip: true });
    expect(r.problems).toEqual(['the file does not start with the mongodump archive magic number: it is not a mongodump archive']);
    const notGzip = await readMongoArchive(await writeArchive('plain-not-gzip.gz', archive(shopCollections()), false), { gzip: true });
    expect(notGzip.problems.join(' ')).toMatch(/gzip stream is cut short or corrupt/);
  });
});

/** Stand-in Database Tools: they print a version, record their arguments and the --config file
 * (its text, its mode, its folder's mode), and mongodump copies the prepared archive. */
async function fakeTools(name: string, opts: { fixture: string; version?: string; restoreFails?: boolean }): Promise<{ dir: string; rec: string }> {
  const dir = path.join(work, `tools-${name}`);
  const rec = path.join(work, `rec-${name}`);
  await fs.mkdir(dir, { recursive: true });
  await fs.mkdir(rec, { recursive: true });
  const common = (tool: string) => `#!/bin/sh
if [ "$1" = "--version" ]; then echo "${tool} version: ${opts.version ?? '100.10.0'}"; echo "git version: 0123456789abcdef"; exit 0; fi
printf '%s\\n' "$@" > "${rec}/${tool}.argv"
cfg=""; out=""
for a in "$@"; do case "$a" in --config=*) cfg="\${a#--config=}";; --archive=*) out="\${a#--archive=}";; esac; done
if [ -n "$cfg" ]; then cp "$cfg" "${rec}/${tool}.config"; stat -c %a "$cfg" > "${rec}/${tool}.config.mode"; stat -c %a "$(dirname "$cfg")" > "${rec}/${tool}.configdir.mode"; echo "$cfg" > "${rec}/${tool}.config.path"; fi
`;
  await fs.writeFile(path.join(dir, 'mongodump'), `${common('mongodump')}cp "${opts.fixture}" "$out"\necho "writing shop.customers to archive '$out'" >&2\n`, { mode: 0o755 });
  await fs.writeFile(
    path.join(dir, 'mongorestore'),
    `${common('mongorestore')}${
      opts.restoreFails
        ? 'echo "Failed: stream or file does not appear to be a mongodump archive" >&2\nexit 1\n'
        : `cat >&2 <<'EOF'
2024-05-01T10:00:00.000+0000\tpreparing collections to restore from
2024-05-01T10:00:00.001+0000\tfound collection shop.customers bson to restore to shop.customers
2024-05-01T10:00:00.001+0000\tfound collection metadata from shop.customers to restore to shop.customers
2024-05-01T10:00:00.001+0000\tfound collection shop.orders bson to restore to shop.orders
2024-05-01T10:00:00.001+0000\tfound collection metadata from shop.orders to restore to shop.orders
2024-05-01T10:00:00.001+0000\tfound collection shop.empty bson to restore to shop.empty
2024-05-01T10:00:00.001+0000\tfound collection metadata from shop.empty to restore to shop.empty
2024-05-01T10:00:00.001+0000\tfound collection metadata from shop.paid_orders to restore to shop.paid_orders
2024-05-01T10:00:00.002+0000\tdry run completed
EOF
`
    }`,
    { mode: 0o755 },
  );
  return { dir, rec };
}

function phase0(c: OpenConnection, dirs: string[], productionPassword?: string): Phase0Context {
  return {
    production: c,
    ...(productionPassword !== undefined ? { productionPassword } : {}),
    settings: { ...defaultPhase0Settings, dumpDir: path.join(work, 'dumps'), baselineDir: path.join(work, 'baselines'), tools: { dirs }, attestations: {}, accepted: {} },
  };
}

describe('the backup check on MongoDB, with stand-in Database Tools', () => {
  it('dumps with mongodump --archive --gzip, checks with mongorestore --dryRun and its own read, and reports size, time and sha256', async () => {
    const fixture = await writeArchive('fixture.archive.gz', archive(shopCollections()));
    const { dir, rec } = await fakeTools('good', { fixture });
    const c = conn(profile());
    const r = await dumpDatabase(c, { outDir: path.join(work, 'dumps'), password, tools: { dirs: [dir] } });
    expect(r.format).toBe('mongodump archive (gzip)');
    expect(r.file).toMatch(/\/dumps\/shop-\d{8}T\d{6}\.archive\.gz$/);
    expect(r.bytes).toBe((await fs.stat(fixture)).size);
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.verify.ok).toBe(true);
    expect(r.verify.detail).toBe("mongorestore --dryRun read the archive's header: 3 collection(s) to restore, 4 with metadata; Flightdeck read it to the end: 290 document(s) in 4 collection(s), every collection's CRC-64 matched");
    expect(r.verify.collections!.map((x) => [x.name, x.documents])).toEqual([['shop.customers', 250], ['shop.orders', 40], ['shop.empty', 0], ['shop.paid_orders', 0]]);
    expect(r.tool.version).toBe('100.10.0');

    // What the tools were given: no password on either command line, the same private --config file.
    const dumpArgv = (await fs.readFile(path.join(rec, 'mongodump.argv'), 'utf8')).trim().split('\n');
    const restoreArgv = (await fs.readFile(path.join(rec, 'mongorestore.argv'), 'utf8')).trim().split('\n');
    expect(dumpArgv).toEqual(mongoToolPlan(c, password, { archive: r.file, config: dumpArgv[1]!.slice('--config='.length), pem: '' }).dumpArgs);
    expect(restoreArgv.slice(2)).toEqual([`--archive=${r.file}`, '--gzip', '--dryRun', '--verbose']);
    for (const a of [...dumpArgv, ...restoreArgv]) expect(decodeURIComponent(a)).not.toContain('p@ss');
    expect(await fs.readFile(path.join(rec, 'mongodump.config'), 'utf8')).toBe(`password: ${yamlQuoted(password)}\n`);
    expect((await fs.readFile(path.join(rec, 'mongodump.config.mode'), 'utf8')).trim()).toBe('600');
    expect((await fs.readFile(path.join(rec, 'mongodump.configdir.mode'), 'utf8')).trim()).toBe('700');
    expect(await fs.readFile(path.join(rec, 'mongorestore.config'), 'utf8')).toBe(`password: ${yamlQuoted(password)}\n`);
    // The password file is gone once the tools are done.
    const configPath = (await fs.readFile(path.join(rec, 'mongodump.config.path'), 'utf8')).trim();
    await expect(fs.stat(path.dirname(configPath))).rejects.toMatchObject({ code: 'ENOENT' });

    // As the Phase 0 check reports it.
    const outcome = await backupDump.run(phase0(c, [dir], password), () => undefined);
    expect(outcome.status).toBe('pass');
    expect(outcome.summary).toMatch(/ backup in .*, read back: mongorestore --dryRun read the archive's header: 3 collection\(s\) to restore/);
    expect(outcome.evidence!.facts!.find(([k]) => k === 'format')![1]).toBe('mongodump archive (gzip)');
    expect(outcome.evidence!.facts!.find(([k]) => k === 'sha256')![1]).toMatch(/^[0-9a-f]{64}$/);
    expect(outcome.evidence!.tables![0]!.rows[0]).toEqual(['shop.customers', '250', expect.stringMatching(/kB$/)]);
  });

  it('fails when the archive cannot be read back, whatever mongorestore --dryRun (which reads only the header) says', async () => {
    const whole = zlib.gzipSync(archive(shopCollections()));
    const fixture = path.join(work, 'truncated-fixture.archive.gz');
    await fs.writeFile(fixture, whole.subarray(0, Math.floor(whole.length * 0.7)));
    const { dir } = await fakeTools('truncated', { fixture });
    const outcome = await backupDump.run(phase0(conn(profile()), [dir], 'x'), () => undefined);
    expect(outcome.status).toBe('fail');
    expect(outcome.summary).toMatch(/^The backup was written but could not be read back: mongorestore --dryRun read the archive's header: .*; Flightdeck could not read it back: /);
  });

  it('fails when mongorestore --dryRun refuses the archive', async () => {
    const fixture = await writeArchive('refused-fixture.archive.gz', archive(shopCollections()));
    const { dir } = await fakeTools('refused', { fixture, restoreFails: true });
    const outcome = await backupDump.run(phase0(conn(profile()), [dir], 'x'), () => undefined);
    expect(outcome.status).toBe('fail');
    expect(outcome.summary).toContain('mongorestore --dryRun did not accept the archive (exit 1): Failed: stream or file does not appear to be a mongodump archive');
  });

  it('stops the window with the install hint when mongodump is not found', async () => {
    const empty = await fs.mkdtemp(path.join(work, 'no-tools-'));
    const outcome = await backupDump.run(phase0(conn(profile()), [empty], 'x'), () => undefined);
    expect(outcome).toMatchObject({ status: 'fail', summary: `No backup: mongodump was not found in ${empty}.` });
    expect(outcome.hint).toContain('Install the MongoDB Database Tools 100.3 or newer (mongodump and mongorestore)');
  });

  it('refuses the legacy mongodump, which could only take the password on its command line', async () => {
    const fixture = await writeArchive('legacy-fixture.archive.gz', archive(shopCollections()));
    const { dir, rec } = await fakeTools('legacy', { fixture, version: 'r3.6.3' });
    const outcome = await backupDump.run(phase0(conn(profile()), [dir], 'x'), () => undefined);
    expect(outcome.status).toBe('fail');
    expect(outcome.summary).toContain('mongodump 3.6.3 found, but Flightdeck needs the MongoDB Database Tools 100.3 or newer');
    await expect(fs.stat(path.join(rec, 'mongodump.argv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('joins a certificate and key given apart into one private PEM file for the tools', async () => {
    const fixture = await writeArchive('tls-fixture.archive.gz', archive(shopCollections()));
    const { dir, rec } = await fakeTools('tls', { fixture });
    // The stand-in records the PEM it was given from the connection string.
    const script = path.join(dir, 'mongodump');
    await fs.writeFile(script, (await fs.readFile(script, 'utf8')).replace('cp "', `pem=$(printf '%s' "$1" | sed -n 's/.*tlsCertificateKeyFile=\\([^&]*\\).*/\\1/p' | sed 's/%2F/\\//g'); cp "$pem" "${rec}/client.pem"; stat -c %a "$pem" > "${rec}/client.pem.mode"\ncp "`));
    await fs.writeFile(path.join(work, 'client.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----');
    await fs.writeFile(path.join(work, 'client.key'), '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    const c = conn(profile({ tls: { mode: 'require', certFile: path.join(work, 'client.crt'), keyFile: path.join(work, 'client.key') } }));
    const r = await dumpDatabase(c, { outDir: path.join(work, 'dumps'), password: 'x', tools: { dirs: [dir] } });
    expect(r.verify.ok).toBe(true);
    expect(await fs.readFile(path.join(rec, 'client.pem'), 'utf8')).toBe('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    expect((await fs.readFile(path.join(rec, 'client.pem.mode'), 'utf8')).trim()).toBe('600');
  });
});

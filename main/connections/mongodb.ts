// MongoDB through the official driver: its own bounded pool, appName flightdeck/<role>, and an
// inspection from buildInfo, connectionStatus and hello.
import net from 'node:net';
import tls from 'node:tls';
import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import { FlightdeckError } from '../../shared/errors';
import { applicationName, expectedServerName, readTlsFiles, probeSuffix, type DriverParams, type Inspection, type MongoDbSession } from './adapter';
import { classifyConnectError } from './errors';

type MongoTlsOptions = Pick<MongoClientOptions, 'tls' | 'rejectUnauthorized' | 'checkServerIdentity' | 'servername' | 'ca' | 'cert' | 'key'>;

/**
 * Node's own TLS options, which the driver passes to every socket it opens, rather than its
 * tls*File options: tlsCertificateKeyFile wants certificate and key in one file, and a profile may
 * name them apart. Files are read here, so a missing one is TLS_FAILED with its path.
 */
function mongoTls(p: DriverParams): MongoTlsOptions {
  if (p.tls.mode === 'disable') return { tls: false };
  const m = readTlsFiles(p.tls);
  const verify = p.tls.mode === 'verify-full';
  // A replica set's members carry their own names, and the driver checks each against the host it
  // connected to. One name is forced only where the driver's host is not the server's name: through
  // a tunnel (a single member at 127.0.0.1), or when the profile names the certificate explicitly.
  const forced = verify && (p.tunnelled || p.tls.serverName !== undefined) ? expectedServerName(p) : undefined;
  return {
    tls: true,
    rejectUnauthorized: verify,
    // Without verify-full no name is checked at all, as 'require' promises.
    checkServerIdentity: !verify ? () => undefined : forced !== undefined ? (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(forced, cert) : tls.checkServerIdentity,
    // SNI carries host names only (RFC 6066); otherwise the driver sends each member's own name.
    ...(forced !== undefined && !net.isIP(forced) ? { servername: forced } : {}),
    ...(m.ca ? { ca: m.ca } : {}),
    // A certificate file without a key file holds both, as MongoDB's tlsCertificateKeyFile does.
    ...(m.cert ? { cert: m.cert, key: m.key ?? m.cert } : {}),
  };
}

export async function openMongo(p: DriverParams): Promise<MongoDbSession> {
  const options: MongoClientOptions = {
    appName: applicationName(p.role),
    maxPoolSize: p.poolSize,
    minPoolSize: 0,
    serverSelectionTimeoutMS: p.connectTimeoutMs,
    connectTimeoutMS: p.connectTimeoutMs,
    // A statement timeout of 0 means none (migration sessions): an index build may take an hour.
    socketTimeoutMS: p.statementTimeoutMs > 0 ? p.statementTimeoutMs + 5_000 : 0,
    // Through a tunnel only the tunnelled member is reachable: never follow the replica set's
    // advertised host names.
    directConnection: p.tunnelled ? true : p.mongo?.directConnection,
    ...(p.mongo?.replicaSet && !p.tunnelled ? { replicaSet: p.mongo.replicaSet } : {}),
    ...(p.user ? { auth: { username: p.user, password: p.password }, authSource: p.mongo?.authSource ?? (p.database || 'admin') } : {}),
    ...mongoTls(p),
  };
  const scheme = p.mongo?.srv && !p.tunnelled ? 'mongodb+srv' : 'mongodb';
  const hostPart = scheme === 'mongodb+srv' ? p.host : `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
  const client = new MongoClient(`${scheme}://${hostPart}/`, options);
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } catch (e) {
    await client.close(true).catch(() => undefined);
    throw classifyConnectError(e, p.ctx);
  }
  return new MongoSession(client, p);
}

class MongoSession implements MongoDbSession {
  readonly engine = 'mongodb' as const;
  constructor(
    private readonly client_: MongoClient,
    private readonly p: DriverParams,
  ) {}

  get database(): string {
    return this.p.database;
  }

  client(): MongoClient {
    return this.client_;
  }

  mongo(): { client: MongoClient; db: Db } {
    if (!this.p.database) {
      throw new FlightdeckError('INVALID_INPUT', `The connection to ${this.p.ctx.target} names no database.`, 'Name the database in the URL or profile, e.g. mongodb://app@db.example.com:27017/shop.');
    }
    return { client: this.client_, db: this.client_.db(this.p.database) };
  }

  async inspect({ writeProbe }: { writeProbe: boolean }): Promise<Inspection> {
    try {
      const admin = this.client_.db('admin');
      const build = await admin.command({ buildInfo: 1 });
      const status = await admin.command({ connectionStatus: 1 });
      const hello = await admin.command({ hello: 1 });
      const auth = (status.authInfo ?? {}) as { authenticatedUsers?: { user: string; db: string }[]; authenticatedUserRoles?: { role: string; db: string }[] };
      const users = auth.authenticatedUsers ?? [];
      const roles = auth.authenticatedUserRoles ?? [];
      const secondary = hello.secondary === true;
      const probe = await this.probe(secondary, writeProbe);
      return {
        engine: 'mongodb',
        serverVersion: String(build.version),
        versionBanner: `MongoDB ${String(build.version)}${build.gitVersion ? ` (git ${String(build.gitVersion).slice(0, 12)})` : ''}${hello.setName ? `, replica set ${String(hello.setName)}` : ''}`,
        currentUser: users.map((u) => `${u.user}@${u.db}`).join(', ') || '(not authenticated)',
        database: this.p.database,
        attributes: {
          writablePrimary: hello.isWritablePrimary === true,
          secondary,
          ...(hello.setName ? { replicaSet: String(hello.setName) } : {}),
          ...(hello.msg === 'isdbgrid' ? { mongos: true } : {}),
        },
        grants: roles.length ? roles.map((r) => `role ${r.role}@${r.db}`) : ['no roles (authentication disabled, or none granted)'],
        inRecovery: secondary,
        tls: { enabled: this.p.tls.mode !== 'disable' },
        probe,
      };
    } catch (e) {
      throw classifyConnectError(e, this.p.ctx);
    }
  }

  /** Insert into a collection of our own and drop it: the only trace is gone when the probe ends. */
  private async probe(secondary: boolean, writeProbe: boolean): Promise<Inspection['probe']> {
    const dbName = this.p.database;
    if (!dbName) return { read: 'ok', write: 'skipped', detail: 'read: no database named in the profile; write: skipped' };
    const db = this.client_.db(dbName);
    const collections = await db.listCollections({}, { nameOnly: true, authorizedCollections: true }).toArray();
    const readDetail = `read: ${collections.length} collections visible in ${dbName}`;
    if (!writeProbe) return { read: 'ok', write: 'skipped', detail: `${readDetail}; write probe not run` };
    if (secondary) return { read: 'ok', write: 'skipped', detail: `${readDetail}; write: server is a secondary` };
    const name = `flightdeck_probe_${probeSuffix()}`;
    try {
      await db.collection(name).insertOne({ note: 'flightdeck write probe' });
      const back = await db.collection(name).findOne({});
      if (!back) throw new Error('the inserted document was not read back');
      return { read: 'ok', write: 'ok', detail: `${readDetail}; write: inserted and read back a document in a collection of its own, then dropped it` };
    } catch (e) {
      return { read: 'ok', write: 'failed', detail: `${readDetail}; write: ${(e as Error).message}` };
    } finally {
      await db.collection(name).drop().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.client_.close().catch(() => undefined);
  }
}

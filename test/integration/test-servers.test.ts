// The ephemeral servers every integration test relies on actually behave as promised: the replica
// streams, MariaDB's users log in with the privileges they should have, and sshd authenticates,
// rejects a wrong host key, and comes back after being killed.
import * as fs from 'node:fs';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Client as SshClient, type ConnectConfig } from 'ssh2';
import { expect, it } from 'vitest';
import { describeWith } from '../support/servers';
import { killSshd, restartSshd } from '../support/sshd-control';

describeWith('postgres', 'test PostgreSQL primary and replica', (server) => {
  const connect = async (port: number) => {
    const c = new pg.Client({ host: server.host, port, user: server.user, password: server.password, database: server.database });
    await c.connect();
    return c;
  };

  it('streams from the primary to the replica', async () => {
    const primary = await connect(server.port);
    const replica = await connect(server.replicaPort);
    try {
      const repl = await primary.query<{ state: string; application_name: string }>('SELECT state, application_name FROM pg_stat_replication');
      expect(repl.rows).toEqual([{ state: 'streaming', application_name: 'fd-test-replica' }]);
      expect((await replica.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(true);

      const table = `stream_check_${process.pid}_${Date.now()}`;
      await primary.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`);
      await primary.query(`INSERT INTO ${table} VALUES (1, 'written on the primary')`);
      try {
        await expect
          .poll(async () => (await replica.query(`SELECT note FROM ${table} WHERE id = 1`).catch(() => ({ rows: [] }))).rows[0]?.note, { timeout: 10_000, interval: 50 })
          .toBe('written on the primary');
      } finally {
        await primary.query(`DROP TABLE ${table}`);
      }
    } finally {
      await primary.end();
      await replica.end();
    }
  });

  it('gives flightdeck its own database with pg_stat_statements, over SCRAM only', async () => {
    const c = await connect(server.port);
    try {
      const who = await c.query('SELECT current_user AS u, current_database() AS d');
      expect(who.rows[0]).toEqual({ u: 'flightdeck', d: 'flightdeck_test' });
      const stmts = await c.query('SELECT count(*)::int AS n FROM pg_stat_statements');
      expect(stmts.rows[0].n).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
    const wrong = new pg.Client({ host: server.host, port: server.port, user: server.user, password: 'not-the-password', database: server.database });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
  });
});

describeWith('mariadb', 'test MariaDB', (server) => {
  it('answers SELECT VERSION() as flightdeck over TCP', async () => {
    const c = await mysql.createConnection({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database });
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v, CURRENT_USER() AS u, @@performance_schema AS ps');
      expect(rows[0]!.v).toMatch(/MariaDB/);
      expect(rows[0]!.u).toMatch(/^flightdeck@/);
      expect(rows[0]!.ps).toBe(1);
      await c.query('CREATE TABLE IF NOT EXISTS ro_check (id int PRIMARY KEY)');
    } finally {
      await c.end();
    }
  });

  it('lets fd_readonly read but not write', async () => {
    const c = await mysql.createConnection({ host: server.host, port: server.port, user: server.readonlyUser, password: server.readonlyPassword, database: server.database });
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM ro_check');
      expect(rows[0]!.n).toBe(0);
      await expect(c.query('INSERT INTO ro_check VALUES (1)')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
    } finally {
      await c.end();
    }
  });
});

describeWith('sshd', 'test sshd', (server) => {
  const knownKeyVerifier = (knownHostsFile: string) => {
    const line = fs.readFileSync(knownHostsFile, 'utf8').trim();
    const expected = Buffer.from(line.split(/\s+/)[2]!, 'base64');
    return (key: Buffer) => key.equals(expected);
  };

  const login = (config: ConnectConfig): Promise<string> =>
    new Promise((resolve, reject) => {
      const client = new SshClient();
      client
        .on('ready', () => {
          client.exec('id -un', (err, stream) => {
            if (err) return reject(err);
            let out = '';
            stream.on('data', (d: Buffer) => (out += d.toString()));
            stream.on('close', () => {
              client.end();
              resolve(out.trim());
            });
          });
        })
        .on('error', reject)
        .connect({ host: server.host, port: server.port, readyTimeout: 10_000, ...config });
    });

  it('accepts the plain key, the encrypted key with its passphrase, and the agent', async () => {
    const hostVerifier = knownKeyVerifier(server.knownHostsFile);
    expect(await login({ username: server.user, privateKey: fs.readFileSync(server.clientKey), hostVerifier })).toBe(server.user);
    expect(await login({ username: server.user, privateKey: fs.readFileSync(server.encryptedClientKey), passphrase: server.passphrase, hostVerifier })).toBe(server.user);
    expect(await login({ username: server.user, agent: server.agentSocket, hostVerifier })).toBe(server.user);
  });

  it('presents a host key that the wrong known_hosts file does not match', async () => {
    await expect(
      login({ username: server.user, privateKey: fs.readFileSync(server.clientKey), hostVerifier: knownKeyVerifier(server.wrongKnownHostsFile) }),
    ).rejects.toThrow(/verification failed/i);
  });

  it.runIf(server.passwordUser !== undefined)('accepts the password user', async () => {
    const hostVerifier = knownKeyVerifier(server.knownHostsFile);
    expect(await login({ username: server.passwordUser!, password: server.password!, hostVerifier })).toBe(server.passwordUser);
    await expect(login({ username: server.passwordUser!, password: 'wrong', hostVerifier })).rejects.toThrow(/authentication methods failed/);
  });

  it('refuses connections while killed and accepts again after a restart', async () => {
    const auth = { username: server.user, privateKey: fs.readFileSync(server.clientKey), hostVerifier: knownKeyVerifier(server.knownHostsFile) };
    await killSshd(server);
    await expect(login(auth)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await restartSshd(server);
    expect(await login(auth)).toBe(server.user);
  });
});

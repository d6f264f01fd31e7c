// A throwaway certificate authority and one server certificate for the test servers, made with the
// openssl command line once per run. The server certificate names only DNS:localhost, on purpose:
// connecting to 127.0.0.1 with verify-full must fail on the name, while host `localhost` (or
// server name `localhost`) passes, which is what the TLS tests rely on.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { TestTls } from './servers';

export interface TestCertificates extends TestTls {
  /** The CA's private key; only used here to sign. */
  caKeyFile: string;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${String(stderr || stdout || err.message).trim()}`));
      else resolve();
    });
  });
}

// P-256 keys: generating them takes milliseconds where RSA keys take a noticeable share of the
// servers' start-up, and PostgreSQL, MariaDB and Node all accept them.
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeTestCertificates(root: string): Promise<TestCertificates> {
  const dir = path.join(root, 'tls');
  // 0755 and 0644 certificates: the servers read them as their own OS users when tests run as root.
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  const caFile = path.join(dir, 'ca.crt');
  const caKeyFile = path.join(dir, 'ca.key');
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const ext = path.join(dir, 'server.ext');

  await openssl(['req', '-x509', ...ecKey, '-keyout', caKeyFile, '-out', caFile, '-days', '2', '-subj', '/CN=Flightdeck test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await openssl(['req', '-new', ...ecKey, '-keyout', keyFile, '-out', csr, '-subj', '/CN=localhost'], dir);
  // An extension file rather than -copy_extensions, which LibreSSL (macOS) lacks.
  await fsp.writeFile(ext, ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:localhost', ''].join('\n'));
  await openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKeyFile, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', ext, '-out', certFile], dir);
  await Promise.all([fsp.rm(csr), fsp.rm(ext)]);
  await Promise.all([fsp.chmod(caFile, 0o644), fsp.chmod(certFile, 0o644), fsp.chmod(caKeyFile, 0o600), fsp.chmod(keyFile, 0o600)]);
  return { caFile, caKeyFile, certFile, keyFile, serverName: 'localhost' };
}

/** A copy of the server key that only `osUser` may read: PostgreSQL refuses a key others can read,
 * and a server that drops root privileges must still be able to open it. Without `osUser` (tests
 * not running as root) the copy belongs to the current user. */
export async function privateKeyCopy(certs: TestCertificates, dest: string, osUser?: string): Promise<string> {
  await fsp.copyFile(certs.keyFile, dest);
  await fsp.chmod(dest, 0o600);
  if (osUser) {
    await new Promise<void>((resolve, reject) => {
      execFile('chown', [`${osUser}:`, dest], (err, _stdout, stderr) => (err ? reject(new Error(`chown ${osUser} ${dest} failed: ${String(stderr).trim()}`)) : resolve()));
    });
  }
  return dest;
}

// A connection profile says how to reach one database. Secrets are never part of it: they live in
// the secret store, keyed by profile id and secret kind, and only their presence is reported.
import { z } from 'zod';

export const engines = ['postgres', 'mysql', 'mongodb'] as const;
export type Engine = (typeof engines)[number];

export const environments = ['production', 'staging', 'replica', 'development'] as const;
export type Environment = (typeof environments)[number];

export const defaultPorts: Record<Engine, number> = { postgres: 5432, mysql: 3306, mongodb: 27017 };

export const tlsSchema = z.object({
  /** disable: plain; prefer: TLS when offered (PostgreSQL only); require: TLS without verifying the
   * certificate; verify-full: TLS with certificate chain and host name verified. */
  mode: z.enum(['disable', 'prefer', 'require', 'verify-full']).default('prefer'),
  caFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  serverName: z.string().optional(),
});
export type TlsOptions = z.infer<typeof tlsSchema>;

export const sshAuthMethods = ['key', 'agent', 'password'] as const;
export type SshAuthMethod = (typeof sshAuthMethods)[number];

export const sshHopSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1),
  auth: z.enum(sshAuthMethods).default('key'),
  /** Private key file (OpenSSH or PEM); its passphrase, if any, is a secret. */
  keyFile: z.string().optional(),
  /** ssh-agent socket; defaults to $SSH_AUTH_SOCK. */
  agentSocket: z.string().optional(),
});
export type SshHop = z.infer<typeof sshHopSchema>;

export const sshSchema = sshHopSchema.extend({
  /** known_hosts file to verify host keys against (OpenSSH format). Defaults to ~/.ssh/known_hosts. */
  knownHostsFile: z.string().optional(),
  keepaliveIntervalMs: z.number().int().min(1000).max(300_000).default(10_000),
  /** Optional bastion the tunnel goes through first. */
  jump: sshHopSchema.optional(),
});
export type SshOptions = z.infer<typeof sshSchema>;

export const profileSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1).max(120),
  engine: z.enum(engines),
  environment: z.enum(environments),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  database: z.string().default(''),
  user: z.string().default(''),
  tls: tlsSchema.default({ mode: 'prefer' }),
  ssh: sshSchema.optional(),
  /** MongoDB: authSource, replicaSet, directConnection, as in its URI options. */
  mongo: z
    .object({
      authSource: z.string().optional(),
      replicaSet: z.string().optional(),
      directConnection: z.boolean().optional(),
      srv: z.boolean().optional(),
    })
    .optional(),
  connectTimeoutMs: z.number().int().min(500).max(120_000).default(10_000),
  /** PostgreSQL: the saved profile of the PgBouncer admin console (database `pgbouncer`) the
   * applications reach this database through. Its pools show in the Pool panel, and Phase 0
   * checks them unless told otherwise. */
  pgbouncerProfileId: z.string().optional(),
});
export type Profile = z.infer<typeof profileSchema>;

/** A profile as the renderer edits it: no id yet when it is new. */
export const profileDraftSchema = profileSchema.extend({ id: z.string().min(1).optional() });
export type ProfileDraft = z.infer<typeof profileDraftSchema>;

export const secretKinds = ['db-password', 'ssh-password', 'ssh-key-passphrase', 'jump-password', 'jump-key-passphrase'] as const;
export type SecretKind = (typeof secretKinds)[number];

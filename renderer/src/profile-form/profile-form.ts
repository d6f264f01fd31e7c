// The editor's working copy of a profile. Numbers are kept as the text the user typed so a
// half-typed port is not silently turned into NaN or 0; secrets are kept apart as pending edits
// because the renderer never holds their stored values.
import { defaultPorts, type Engine, type Environment, type Profile, type SecretKind, type SshAuthMethod } from '../../../shared/profile';
import type { z } from 'zod';
import type { profileDraftSchema } from '../../../shared/profile';

export type TlsMode = Profile['tls']['mode'];

export interface HopForm {
  host: string;
  port: string;
  user: string;
  auth: SshAuthMethod;
  keyFile: string;
  agentSocket: string;
}

export interface ProfileForm {
  id?: string;
  name: string;
  engine: Engine;
  environment: Environment;
  host: string;
  port: string;
  database: string;
  user: string;
  connectTimeoutMs: string;
  tls: { mode: TlsMode; caFile: string; certFile: string; keyFile: string; serverName: string };
  sshEnabled: boolean;
  ssh: HopForm & { knownHostsFile: string; keepaliveIntervalMs: string };
  jumpEnabled: boolean;
  jump: HopForm;
  mongo: { authSource: string; replicaSet: string; directConnection: boolean; srv: boolean };
  /** PostgreSQL: the PgBouncer admin-console profile in front of this database ('' for none). */
  pgbouncerProfileId: string;
}

/** A secret typed in (string) or marked for removal (null); kinds left out stay as stored. */
export type SecretEdits = Partial<Record<SecretKind, string | null>>;

const emptyHop = (): HopForm => ({ host: '', port: '22', user: '', auth: 'key', keyFile: '', agentSocket: '' });

export function newProfileForm(): ProfileForm {
  return {
    name: '',
    engine: 'postgres',
    environment: 'development',
    host: '',
    port: String(defaultPorts.postgres),
    database: '',
    user: '',
    connectTimeoutMs: '10000',
    tls: { mode: 'prefer', caFile: '', certFile: '', keyFile: '', serverName: '' },
    sshEnabled: false,
    ssh: { ...emptyHop(), knownHostsFile: '', keepaliveIntervalMs: '10000' },
    jumpEnabled: false,
    jump: emptyHop(),
    mongo: { authSource: '', replicaSet: '', directConnection: false, srv: false },
    pgbouncerProfileId: '',
  };
}

export function profileToForm(p: Profile): ProfileForm {
  const hop = (h: { host: string; port: number; user: string; auth: SshAuthMethod; keyFile?: string; agentSocket?: string }): HopForm => ({
    host: h.host,
    port: String(h.port),
    user: h.user,
    auth: h.auth,
    keyFile: h.keyFile ?? '',
    agentSocket: h.agentSocket ?? '',
  });
  const base = newProfileForm();
  return {
    id: p.id,
    name: p.name,
    engine: p.engine,
    environment: p.environment,
    host: p.host,
    port: String(p.port),
    database: p.database,
    user: p.user,
    connectTimeoutMs: String(p.connectTimeoutMs),
    tls: {
      mode: p.tls.mode,
      caFile: p.tls.caFile ?? '',
      certFile: p.tls.certFile ?? '',
      keyFile: p.tls.keyFile ?? '',
      serverName: p.tls.serverName ?? '',
    },
    sshEnabled: p.ssh !== undefined,
    ssh: p.ssh
      ? { ...hop(p.ssh), knownHostsFile: p.ssh.knownHostsFile ?? '', keepaliveIntervalMs: String(p.ssh.keepaliveIntervalMs) }
      : base.ssh,
    jumpEnabled: p.ssh?.jump !== undefined,
    jump: p.ssh?.jump ? hop(p.ssh.jump) : base.jump,
    mongo: {
      authSource: p.mongo?.authSource ?? '',
      replicaSet: p.mongo?.replicaSet ?? '',
      directConnection: p.mongo?.directConnection ?? false,
      srv: p.mongo?.srv ?? false,
    },
    pgbouncerProfileId: p.pgbouncerProfileId ?? '',
  };
}

const text = (s: string) => (s.trim() === '' ? undefined : s.trim());
/** Empty stays NaN so the schema reports it; "5432 " is still 5432. */
const num = (s: string) => (s.trim() === '' ? Number.NaN : Number(s.trim()));

/** The draft as profiles/save expects it; the core fills the schema's defaults. */
export function formToDraft(f: ProfileForm): z.input<typeof profileDraftSchema> {
  const hop = (h: HopForm) => ({
    host: h.host.trim(),
    port: num(h.port),
    user: h.user.trim(),
    auth: h.auth,
    keyFile: h.auth === 'key' ? text(h.keyFile) : undefined,
    agentSocket: h.auth === 'agent' ? text(h.agentSocket) : undefined,
  });
  const draft: z.input<typeof profileDraftSchema> = {
    ...(f.id ? { id: f.id } : {}),
    name: f.name.trim(),
    engine: f.engine,
    environment: f.environment,
    host: f.host.trim(),
    port: num(f.port),
    database: f.database.trim(),
    user: f.user.trim(),
    connectTimeoutMs: num(f.connectTimeoutMs),
    tls: {
      mode: f.tls.mode,
      caFile: text(f.tls.caFile),
      certFile: text(f.tls.certFile),
      keyFile: text(f.tls.keyFile),
      serverName: text(f.tls.serverName),
    },
  };
  if (f.sshEnabled) {
    draft.ssh = {
      ...hop(f.ssh),
      knownHostsFile: text(f.ssh.knownHostsFile),
      keepaliveIntervalMs: num(f.ssh.keepaliveIntervalMs),
      ...(f.jumpEnabled ? { jump: hop(f.jump) } : {}),
    };
  }
  if (f.engine === 'mongodb') {
    draft.mongo = {
      authSource: text(f.mongo.authSource),
      replicaSet: text(f.mongo.replicaSet),
      directConnection: f.mongo.directConnection || undefined,
      srv: f.mongo.srv || undefined,
    };
  }
  if (f.engine === 'postgres' && f.pgbouncerProfileId) draft.pgbouncerProfileId = f.pgbouncerProfileId;
  return draft;
}

/** Switching engine moves the port along unless the user chose a port of their own. */
export function withEngine(f: ProfileForm, engine: Engine): ProfileForm {
  const portIsDefault = f.port.trim() === '' || Number(f.port) === defaultPorts[f.engine];
  return { ...f, engine, port: portIsDefault ? String(defaultPorts[engine]) : f.port };
}

/** Which secrets the form can set, given engine, SSH and auth choices. */
export function secretKindsFor(f: ProfileForm): SecretKind[] {
  const kinds: SecretKind[] = ['db-password'];
  if (f.sshEnabled) {
    if (f.ssh.auth === 'password') kinds.push('ssh-password');
    if (f.ssh.auth === 'key') kinds.push('ssh-key-passphrase');
    if (f.jumpEnabled) {
      if (f.jump.auth === 'password') kinds.push('jump-password');
      if (f.jump.auth === 'key') kinds.push('jump-key-passphrase');
    }
  }
  return kinds;
}

export function sameForm(a: ProfileForm, b: ProfileForm): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// Words the cockpit shows for the contract's enum values, in one place so every panel agrees.
import type { ConnectionState, TunnelState } from '../../../shared/api';
import type { Engine, Environment, SecretKind } from '../../../shared/profile';

export const engineLabels: Record<Engine, string> = {
  postgres: 'PostgreSQL',
  mysql: 'MySQL / MariaDB',
  mongodb: 'MongoDB',
};

export const environmentLabels: Record<Environment, string> = {
  production: 'Production',
  staging: 'Staging',
  replica: 'Replica',
  development: 'Development',
};

export const connectionStateLabels: Record<ConnectionState['state'], string> = {
  closed: 'Closed',
  connecting: 'Connecting',
  open: 'Open',
  error: 'Error',
};

export const tunnelStateLabels: Record<TunnelState['state'], string> = {
  connecting: 'SSH connecting',
  up: 'SSH up',
  reconnecting: 'SSH reconnecting',
  down: 'SSH down',
  closed: 'SSH closed',
};

export const secretLabels: Record<SecretKind, string> = {
  'db-password': 'Password',
  'ssh-password': 'SSH password',
  'ssh-key-passphrase': 'Key passphrase',
  'jump-password': 'Jump password',
  'jump-key-passphrase': 'Jump key passphrase',
};

export function hostPort(host: string, port: number): string {
  // IPv6 literals need brackets or the port reads as part of the address.
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatClock(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour12: false });
}

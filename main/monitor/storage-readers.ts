// The storage panel's reader for each engine the health panels support (as samplers.ts for the
// live panels). Kept apart from storage.ts, which the readers themselves import.
import type { Engine } from '../../shared/profile';
import { mongoStorage } from './mongo-storage';
import { mysqlStorage } from './mysql-storage';
import { postgresStorage } from './postgres-storage';
import type { StorageReaderFactory } from './storage';

export const storageReaders: Partial<Record<Engine, StorageReaderFactory>> = {
  postgres: postgresStorage,
  mysql: mysqlStorage,
  mongodb: mongoStorage,
};

// Which metadata locks block which. performance_schema.metadata_locks lists granted and pending
// locks but not who waits for whom, so the server's own compatibility rules (MySQL sql/mdl.cc,
// which MariaDB shares for these lock types) are applied here to find each waiter's blockers.

type ObjectType = 'S' | 'SH' | 'SR' | 'SW' | 'SWLP' | 'SU' | 'SRO' | 'SNW' | 'SNRW' | 'X';

const objectTypes: Record<string, ObjectType> = {
  SHARED: 'S',
  SHARED_HIGH_PRIO: 'SH',
  SHARED_READ: 'SR',
  SHARED_WRITE: 'SW',
  SHARED_WRITE_LOW_PRIO: 'SWLP',
  SHARED_UPGRADABLE: 'SU',
  SHARED_READ_ONLY: 'SRO',
  SHARED_NO_WRITE: 'SNW',
  SHARED_NO_READ_WRITE: 'SNRW',
  EXCLUSIVE: 'X',
};
const order: ObjectType[] = ['S', 'SH', 'SR', 'SW', 'SWLP', 'SU', 'SRO', 'SNW', 'SNRW', 'X'];

// Rows: the requested type; columns (in `order`): a type granted to another session. '-' conflicts.
const objectGranted: Record<ObjectType, string> = {
  S: '+++++++++-',
  SH: '+++++++++-',
  SR: '++++++++--',
  SW: '++++++----',
  SWLP: '++++++----',
  SU: '+++++-+---',
  SRO: '+++--+++--',
  SNW: '+++---+---',
  SNRW: '++--------',
  X: '----------',
};
// Rows: the requested type; columns: a type another session is already waiting for. Pending strong
// locks (an ALTER's EXCLUSIVE) make later weak requests queue behind them: the usual pile-up where
// every SELECT on a table waits for an ALTER that itself waits for one idle transaction.
const objectPending: Record<ObjectType, string> = {
  S: '+++++++++-',
  SH: '++++++++++',
  SR: '++++++++--',
  SW: '+++++++---',
  SWLP: '++++++----',
  SU: '+++++++++-',
  SRO: '+++-++++--',
  SNW: '+++++++++-',
  SNRW: '+++++++++-',
  X: '++++++++++',
};

// Namespaces guarded by scoped locks (intention exclusive / shared / exclusive), e.g. FLUSH TABLES
// WITH READ LOCK takes GLOBAL SHARED while every write takes GLOBAL INTENTION_EXCLUSIVE.
const scopedNamespaces = new Set(['GLOBAL', 'SCHEMA', 'COMMIT', 'TABLESPACE', 'BACKUP LOCK']);
type ScopedType = 'IX' | 'S' | 'X';
const scopedTypes: Record<string, ScopedType> = { INTENTION_EXCLUSIVE: 'IX', SHARED: 'S', EXCLUSIVE: 'X' };
const scopedOrder: ScopedType[] = ['IX', 'S', 'X'];
const scopedGranted: Record<ScopedType, string> = { IX: '+--', S: '-+-', X: '---' };
const scopedPending: Record<ScopedType, string> = { IX: '+--', S: '++-', X: '+++' };

function lookup<T extends string>(table: Record<T, string>, cols: readonly T[], requested: T, other: T): boolean {
  return table[requested][cols.indexOf(other)] === '-';
}

/**
 * Whether a request of `requested` on an object of `objectType` must wait for `other`, which another
 * session holds (`granted`) or waits for. Types this table does not know (MariaDB's BACKUP stages)
 * count as conflicting with every granted lock and no pending one: a possible blocker is shown
 * rather than hidden.
 */
export function mdlConflicts(objectType: string, requested: string, other: string, granted: boolean): boolean {
  if (scopedNamespaces.has(objectType)) {
    const r = scopedTypes[requested];
    const o = scopedTypes[other];
    if (r && o) return lookup(granted ? scopedGranted : scopedPending, scopedOrder, r, o);
    return granted;
  }
  const r = objectTypes[requested];
  const o = objectTypes[other];
  if (r && o) return lookup(granted ? objectGranted : objectPending, order, r, o);
  return granted;
}

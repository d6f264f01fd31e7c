import { memo } from 'react';
import type { Engine } from '../../../shared/profile';
import type { StoragePanel as Storage, StorageTable } from '../../../shared/monitor';
import { formatBytes, formatDuration } from '../format/health-format';
import { bloatRatioThreshold, deadRatioThreshold, levelOf, storageLevelMinBytes, worst, type Level } from '../health/thresholds';
import { HealthPanel } from './HealthPanel';
import { StatChip } from './StatChip';

interface Props {
  storage?: Storage;
  engine: Engine;
  /** The shown sample's time: how old the reading is is measured from it (also while paused). */
  at: number;
}

/** "40 s ago", "3 m 07 s ago". */
function ago(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  return s < 60 ? `${Math.round(s)} s ago` : `${formatDuration(ms)} ago`;
}

function dateTime(at: number): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

function pct(ratio: number | null): string {
  if (ratio === null) return '—';
  const p = ratio * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

function count(n: number | null): string {
  if (n === null) return '—';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)} k`;
  return Math.round(n).toLocaleString('en-US');
}

function latest(...times: (number | null)[]): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length ? Math.max(...known) : null;
}

/** The panel's colour: the worst dead-tuple or bloat level among tables big enough to matter. */
export function storageLevel(storage: Storage | undefined): Level {
  if (!storage) return 'ok';
  const levels = storage.tables
    .filter((t) => t.totalBytes >= storageLevelMinBytes)
    .flatMap((t) => [levelOf(t.deadRatio, deadRatioThreshold), levelOf(t.bloatRatio, bloatRatioThreshold)]);
  return worst(...levels);
}

/** Table and index sizes, dead tuples and bloat, unused indexes: read every minute or so, beside
 * the live samples, so the panel says how old its reading is. */
export function StoragePanel({ storage: st, engine, at }: Props) {
  const level = storageLevel(st);
  const unusedBytes = st?.unusedIndexes.reduce((n, u) => n + (u.bytes ?? 0), 0) ?? 0;
  return (
    <HealthPanel
      name="storage"
      title="Storage"
      level={level}
      wide
      stats={
        <>
          <span
            className="stat storage-age"
            title={st ? `Storage is read every ${formatDuration(st.intervalMs)}, between live samples${st.durationMs !== null ? `; the last reading took ${Math.round(st.durationMs)} ms` : ''}` : undefined}
            data-testid="storage-age"
          >
            <span className="stat-label">{st?.readAt !== null && st?.readAt !== undefined ? 'read' : 'sizes'}</span>
            <span className="stat-value">{st?.readAt !== null && st?.readAt !== undefined ? ago(at - st.readAt) : 'not read yet'}</span>
          </span>
          {st && st.readAt !== null && <StatChip label="in top tables" value={formatBytes(st.tables.reduce((n, t) => n + t.totalBytes, 0))} />}
          {st && st.readAt !== null && (
            <StatChip
              label={`unused index${st.unusedIndexCount === 1 ? '' : 'es'}${unusedBytes > 0 ? ` · ${formatBytes(unusedBytes)}` : ''}`}
              value={st.unusedIndexCount}
              level={st.unusedIndexCount > 0 ? 'warn' : 'ok'}
              testId="storage-unused-count"
            />
          )}
        </>
      }
    >
      {!st && (
        <p className="muted small" role="status">
          Sizes are read shortly after the first samples, then every minute.
        </p>
      )}
      {st?.error && (
        <div className="panel-error" role="alert" data-testid="storage-error">
          <span className="panel-error-message">
            {st.error.message}
            {st.readAt !== null && ` Showing the reading from ${ago(at - st.readAt)}.`}
          </span>
          {st.error.hint && <span className="panel-error-hint">{st.error.hint}</span>}
        </div>
      )}
      {st && st.readAt !== null && <StorageReading storage={st} engine={engine} />}
    </HealthPanel>
  );
}

/** The reading itself re-renders only when a new one arrives, not with every live sample. */
const StorageReading = memo(
  function StorageReading({ storage: st, engine }: { storage: Storage; engine: Engine }) {
    const postgres = engine === 'postgres';
    const largest = st.tables.reduce((m, t) => Math.max(m, t.totalBytes), 0);
    return (
      <div className="storage-reading">
        <div className="storage-scroll">
          <table className="health-table storage-table" data-testid="storage-tables">
            <thead>
              <tr>
                <th>{engine === 'mongodb' ? 'Collection' : 'Table'}</th>
                <th className="size-col">
                  Size{' '}
                  <span className="storage-legend" aria-label="bar colours">
                    <span className="swatch seg-table" /> table <span className="swatch seg-index" /> indexes
                    {postgres && (
                      <>
                        {' '}
                        <span className="swatch seg-toast" /> TOAST
                      </>
                    )}
                  </span>
                </th>
                <th className="num">Rows</th>
                {postgres && <th className="num">Dead</th>}
                <th
                  className="num"
                  title={postgres ? 'Estimated from pg_stats column widths against the table\'s pages' : engine === 'mongodb' ? 'freeStorageSize: space inside the collection\'s file a compact would give back' : 'DATA_FREE: free space inside the table\'s tablespace'}
                >
                  {postgres ? 'Bloat (est.)' : 'Reclaimable'}
                </th>
                {postgres && <th className="num maint-col">Vacuumed</th>}
                {postgres && <th className="num maint-col">Analyzed</th>}
              </tr>
            </thead>
            <tbody>
              {st.tables.map((t) => (
                <TableRow key={`${t.schema}.${t.name}`} t={t} largest={largest} postgres={postgres} readAt={st.readAt!} />
              ))}
            </tbody>
          </table>
          {st.tables.length === 0 && <p className="muted small">No tables are visible to the monitoring account.</p>}
        </div>
        {st.skipped.length > 0 && (
          <div className="storage-skipped" role="status" data-testid="storage-skipped">
            Not sized this time:{' '}
            {st.skipped.map((s, i) => (
              <span key={`${s.schema}.${s.name}`}>
                {i > 0 && '; '}
                <code>
                  {s.schema}.{s.name}
                </code>{' '}
                ({s.reason})
              </span>
            ))}
          </div>
        )}
        <UnusedIndexes storage={st} />
        <p className="storage-source muted small">{st.sizeSource}</p>
      </div>
    );
  },
  // A new reading has a new readAt; the rest of a sample's copy is the same reading.
  (a, b) => a.storage.readAt === b.storage.readAt && a.engine === b.engine,
);

function TableRow({ t, largest, postgres, readAt }: { t: StorageTable; largest: number; postgres: boolean; readAt: number }) {
  // A table of a few pages is not coloured: one dead row of its five is 20 %, and nothing to act on.
  const small = t.totalBytes < storageLevelMinBytes;
  const dead = small ? 'ok' : levelOf(t.deadRatio, deadRatioThreshold);
  const bloat = small ? 'ok' : levelOf(t.bloatRatio, bloatRatioThreshold);
  const share = (bytes: number) => `${largest > 0 ? (100 * bytes) / largest : 0}%`;
  const vacuumed = latest(t.lastVacuum, t.lastAutovacuum);
  const analyzed = latest(t.lastAnalyze, t.lastAutoanalyze);
  const sizes = `table ${formatBytes(t.tableBytes)}, indexes ${formatBytes(t.indexBytes)}${postgres ? `, TOAST ${formatBytes(t.toastBytes)}` : ''}`;
  return (
    <tr data-table={`${t.schema}.${t.name}`}>
      <td
        className="nowrap storage-name"
        title={postgres ? `last vacuum ${vacuumed !== null ? dateTime(vacuumed) : 'never'}; last analyze ${analyzed !== null ? dateTime(analyzed) : 'never'}` : undefined}
      >
        <span className="muted">{t.schema}.</span>
        {t.name}
      </td>
      <td className="size-col" title={sizes}>
        <span className="size-bar" aria-hidden="true">
          <span className="seg-table" style={{ width: share(t.tableBytes) }} />
          <span className="seg-index" style={{ width: share(t.indexBytes) }} />
          {postgres && <span className="seg-toast" style={{ width: share(t.toastBytes) }} />}
        </span>
        <span className="size-value">{formatBytes(t.totalBytes)}</span>
      </td>
      <td className="num">{count(t.liveRows)}</td>
      {postgres && (
        <td className={`num level-${dead}`} title={t.deadRows !== null ? `${t.deadRows.toLocaleString('en-US')} dead rows` : undefined} data-level={dead}>
          <span className="muted">{count(t.deadRows)}</span> {pct(t.deadRatio)}
        </td>
      )}
      <td className={`num level-${bloat}`} data-level={bloat} data-testid="storage-bloat">
        {t.bloatBytes === null ? '—' : <span className="muted">{formatBytes(t.bloatBytes)}</span>}
        {t.bloatRatio !== null && ` ${pct(t.bloatRatio)}`}
      </td>
      {postgres && (
        <td className="num muted maint-col" title={vacuumed !== null ? dateTime(vacuumed) : 'never since statistics began'}>
          {vacuumed !== null ? ago(readAt - vacuumed) : 'never'}
        </td>
      )}
      {postgres && (
        <td className="num muted maint-col" title={analyzed !== null ? dateTime(analyzed) : 'never since statistics began'}>
          {analyzed !== null ? ago(readAt - analyzed) : 'never'}
        </td>
      )}
    </tr>
  );
}

function UnusedIndexes({ storage: st }: { storage: Storage }) {
  const since = st.indexStatsSince !== null ? `since ${dateTime(st.indexStatsSince)}` : 'since statistics began';
  return (
    <div className="storage-unused" data-testid="storage-unused">
      <h4>
        Unused indexes <span className="storage-window">— no scan {since}; unique and primary-key indexes not counted</span>
      </h4>
      {st.unusedIndexesNote && <p className="muted small">{st.unusedIndexesNote}</p>}
      {st.unusedIndexesHint && (
        <div className="error-callout notice" role="status">
          <div className="error-hint">{st.unusedIndexesHint}</div>
        </div>
      )}
      {st.unusedIndexes.length === 0 && !st.unusedIndexesHint && <p className="all-clear">Every index has been used.</p>}
      {st.unusedIndexes.length > 0 && (
        <table className="health-table">
          <thead>
            <tr>
              <th>Index</th>
              <th>Table</th>
              <th className="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {st.unusedIndexes.map((u) => (
              <tr key={`${u.schema}.${u.table}.${u.name}`} data-index={`${u.schema}.${u.name}`}>
                <td className="nowrap">
                  <code>{u.name}</code>
                </td>
                <td className="nowrap">
                  <span className="muted">{u.schema}.</span>
                  {u.table}
                </td>
                <td className="num">{formatBytes(u.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {st.unusedIndexCount > st.unusedIndexes.length && (
        <p className="muted small">
          …and {st.unusedIndexCount - st.unusedIndexes.length} more (the largest {st.unusedIndexes.length} are listed).
        </p>
      )}
    </div>
  );
}

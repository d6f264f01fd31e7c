import type { PoolerPanel } from '../../../shared/monitor';
import { formatClockTime, formatSeconds } from '../format/health-format';

/** The PgBouncer pools of the monitored database, as SHOW POOLS gives them: clients queued at the
 * pooler (cl_waiting) are the application waiting, which the server's own sessions cannot show. */
export function PoolerPools({ pooler }: { pooler: PoolerPanel }) {
  const waiting = pooler.pools.reduce((n, p) => n + p.clientsWaiting, 0);
  return (
    <div className="pooler-pools" data-testid="pooler-pools">
      <h4>
        PgBouncer <span className="muted small mono">{pooler.address}</span>
        {waiting > 0 && <span className="count level-warn">{waiting} waiting</span>}
      </h4>
      {pooler.error && (
        <p className="small level-warn" role="status">
          {pooler.error.message}
          {pooler.readAt !== null && <> Shown: the reading of {formatClockTime(pooler.readAt)}.</>}
          {pooler.error.hint && <span className="muted"> {pooler.error.hint}</span>}
        </p>
      )}
      {(pooler.paused || pooler.disabled) && (
        <p className="small level-critical">
          {pooler.paused ? 'The database is paused on PgBouncer (PAUSE): its clients wait. ' : ''}
          {pooler.disabled ? 'The database is disabled on PgBouncer (DISABLE): new clients are refused.' : ''}
        </p>
      )}
      {pooler.readAt !== null && pooler.pools.length === 0 ? (
        <p className="muted small">No pool for this database yet: PgBouncer opens one when the first client connects through it.</p>
      ) : (
        pooler.pools.length > 0 && (
          <table className="health-table">
            <thead>
              <tr>
                <th>Pool · mode</th>
                <th className="num" title="cl_active: clients linked to a server connection">Clients</th>
                <th className="num" title="cl_waiting: clients queued for a server connection">Waiting</th>
                <th className="num" title="maxwait: how long the oldest waiting client has waited">Max wait</th>
                <th className="num" title="sv_active of pool_size; idle = sv_idle + sv_used">Servers</th>
              </tr>
            </thead>
            <tbody>
              {pooler.pools.map((p) => (
                <tr key={`${p.database}/${p.user}`}>
                  <td>
                    <span className="mono">
                      {p.database}/{p.user}
                    </span>
                    <span className="muted"> · {p.mode}</span>
                  </td>
                  <td className="num">{p.clientsActive}</td>
                  <td className={`num${p.clientsWaiting > 0 ? ' level-warn' : ''}`}>{p.clientsWaiting}</td>
                  <td className={`num${p.maxWaitSeconds > 0 ? ' level-warn' : ''}`}>{p.maxWaitSeconds > 0 ? formatSeconds(p.maxWaitSeconds) : '–'}</td>
                  <td className={`num nowrap${p.serversActive >= p.poolSize ? ' level-critical' : ''}`} title={`${p.serversIdle + p.serversUsed} idle`}>
                    {p.serversActive} of {p.poolSize}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
      {pooler.otherPools > 0 && <p className="muted small">{pooler.otherPools} pool(s) of other databases on this PgBouncer are not shown.</p>}
    </div>
  );
}

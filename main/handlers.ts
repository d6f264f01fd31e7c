// The handler table: one entry per call of the contract, each a thin line into a service.
import type { ProfileSummary } from '../shared/api';
import { FlightdeckError } from '../shared/errors';
import { secretKinds, type Profile, type SecretKind } from '../shared/profile';
import { isSqlSession } from './connections/adapter';
import { assertPoolerAttachable } from './connections/pgbouncer-console';
import { signalBackend } from './monitor/signal-backend';
import type { Handlers } from './router';
import type { Services } from './services';

export function createHandlers(s: Services): Handlers {
  const summarize = async (profile: Profile): Promise<ProfileSummary> => {
    const presence = {} as Record<SecretKind, boolean>;
    for (const kind of secretKinds) presence[kind] = (await s.secrets.get(profile.id, kind)) !== undefined;
    return {
      profile,
      secrets: presence,
      secretSource: s.profiles.isEphemeral(profile.id) ? 'memory' : s.secretStore.kind,
      managed: s.profiles.isEphemeral(profile.id),
      connection: s.connections.stateOf(profile.id),
    };
  };

  return {
    'app/info': async () => s.appInfo(),

    'profiles/list': async () => Promise.all((await s.profiles.list()).map(summarize)),

    'profiles/save': async ({ profile, secrets }) => {
      if (profile.pgbouncerProfileId) await assertPoolerAttachable({ id: '', ...profile }, (id) => s.profiles.get(id));
      const saved = await s.profiles.save(profile);
      for (const [kind, value] of Object.entries(secrets ?? {}) as [SecretKind, string | null][]) {
        if (value === null) await s.secretStore.delete(saved.id, kind);
        else if (value !== undefined) await s.secretStore.set(saved.id, kind, value);
      }
      // New settings mean the open pool (and tunnel) no longer describe the profile.
      await s.connections.close(saved.id);
      await s.monitor.restart(saved.id);
      // Databases watched through this profile as their PgBouncer reopen its console too.
      for (const p of await s.profiles.list()) if (p.pgbouncerProfileId === saved.id) await s.monitor.restart(p.id);
      return summarize(saved);
    },

    'profiles/duplicate': async ({ id }) => {
      const original = await s.profiles.get(id);
      const { id: _drop, ...rest } = original;
      const copy = await s.profiles.save({ ...rest, name: `${original.name} (copy)`.slice(0, 120) });
      return summarize(copy);
    },

    'profiles/delete': async ({ id }) => {
      await s.monitor.forget(id);
      await s.connections.close(id);
      await s.profiles.delete(id);
      await s.secretStore.delete(id);
      return { ok: true as const };
    },

    'connections/test': async ({ id, writeProbe }) => s.connections.test(id, { writeProbe }),
    'connections/open': async ({ id }) => {
      await s.connections.open(id);
      return s.connections.stateOf(id);
    },
    'connections/close': async ({ id }) => s.connections.close(id),
    'connections/states': async () => s.connections.states(),

    'ssh/trust-host-key': async ({ challengeId }) => {
      await s.hostKeys.trust(challengeId);
      return { ok: true as const };
    },

    'monitor/start': async ({ profileId, intervalMs, longRunningMs, storageIntervalMs }, ctx) =>
      s.subscriptions.start(ctx.clientId ?? 'local', profileId, { intervalMs, longRunningMs, ...(storageIntervalMs !== undefined ? { storageIntervalMs } : {}) }),
    'monitor/stop': async ({ profileId }, ctx) => (await s.subscriptions.stop(ctx.clientId ?? 'local', profileId)) ?? null,
    'monitor/states': async () => s.monitor.states(),
    'monitor/latest': async ({ profileId }) => s.monitor.latest(profileId),
    'monitor/series': async ({ profileId, keys, from, to, points }) => s.monitor.series(profileId, keys, { from, to, points }),
    'monitor/export-csv': async ({ profileId, keys, from, to }) => {
      const profile = await s.profiles.get(profileId);
      const stamp = (t: number) => new Date(t).toISOString().replace(/[:.]/g, '-');
      return { filename: `${profile.name.replace(/[^\w.-]+/g, '_')}-${stamp(from)}-${stamp(to)}.csv`, csv: s.monitor.csv(profileId, keys, from, to) };
    },
    'monitor/markers': async ({ from, to }) => s.markers.list(from, to),
    'monitor/save-baseline': async ({ profileId }) => {
      const session = s.monitor.session(profileId);
      if (!isSqlSession(session)) throw new FlightdeckError('INVALID_INPUT', `Statement baselines are kept for PostgreSQL and MySQL; this profile is ${session.engine}.`, 'MongoDB\'s Phase 0 performance baseline (flightdeck check) saves its collection activity instead.');
      return s.baselines.capture(profileId, session);
    },
    'monitor/baseline': async ({ profileId }) => {
      await s.baselines.get(profileId);
      return s.baselines.describe(profileId);
    },
    'monitor/signal-backend': async ({ profileId, pid, sessionId, action, confirm }) =>
      signalBackend(await s.profiles.get(profileId), s.monitor.session(profileId), { pid, sessionId, action, confirm }, s.log),

    'migrations/inspect': async ({ profileId, dir }) => s.migrations.inspect(profileId, dir),
    'migrations/run': async ({ profileId, dir, action, steps, version, lockTimeoutMs, confirm }) => {
      if (action === 'goto' && version === undefined) throw new FlightdeckError('INVALID_INPUT', 'goto needs the version to go to.', 'Give the version (0 reverts everything).');
      return s.migrations.run({
        profileId,
        dir,
        action: action === 'up' ? { kind: 'up', ...(steps ? { steps } : {}) } : action === 'down' ? { kind: 'down', steps: steps ?? 1 } : { kind: 'goto', version: version ?? 0 },
        ...(lockTimeoutMs ? { lockTimeoutMs } : {}),
        ...(confirm !== undefined ? { confirm } : {}),
      });
    },
    'migrations/cancel': async ({ profileId }) => ({ cancelled: s.migrations.cancel(profileId) }),
    'migrations/force': async ({ profileId, dir, version, confirm }) => s.migrations.force(profileId, dir, version, confirm),

    'phase0/run': async (input) => s.phase0.run(input),
    'phase0/report': async ({ productionId }) => s.phase0.report(productionId),
    'phase0/attest': async ({ productionId, checkId, by }) => s.phase0.attest(productionId, checkId, by),
    'phase0/accept': async ({ productionId, checkId, by, reason }) => s.phase0.accept(productionId, checkId, reason, by),

    'plan/build': async (input) => s.plan.build(input),
    'plan/file': async ({ dir, file }) => ({ text: await s.plan.file(dir, file) }),

    'sandbox/state': async () => s.sandbox.state(),
    'sandbox/start': async () => s.sandbox.start(),
    'sandbox/stop': async () => s.sandbox.stop(),
  };
}

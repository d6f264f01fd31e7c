// Phase 0, backup: take a real backup of production with pg_dump -Fc, mysqldump or mongodump
// --archive --gzip, read it back, and report size, time and checksum. No backup is a critical
// failure: the window stops.
import { dumpDatabase } from '../../../backup/dump';
import { FlightdeckError } from '../../../../shared/errors';
import { formatBytes, formatDuration, type CheckDef } from '../../check';
import type { Phase0Context } from '../context';

export const backupDump: CheckDef<Phase0Context> = {
  id: 'backup-dump',
  phase: 0,
  title: 'Backup taken and readable',
  severity: 'critical',
  async run(ctx, progress) {
    try {
      const r = await dumpDatabase(ctx.production, {
        outDir: ctx.settings.dumpDir,
        ...(ctx.productionPassword !== undefined ? { password: ctx.productionPassword } : {}),
        ...(ctx.settings.tools ? { tools: ctx.settings.tools } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onProgress: (p) => progress(`${formatBytes(p.bytes)} written, ${formatBytes(p.bytesPerSec)}/s`),
      });
      const facts: [string, string][] = [
        ['tool', `${r.tool.banner} (${r.tool.path})`],
        ['file', r.file],
        ['format', r.format],
        ['size', `${formatBytes(r.bytes)} (${r.bytes} bytes)`],
        ['time', formatDuration(r.durationMs)],
        ['sha256', r.sha256],
        ['read back', r.verify.detail],
      ];
      const tables = r.verify.collections
        ? [{ title: 'Collections in the archive (read back)', columns: ['collection', 'documents', 'uncompressed'], rows: r.verify.collections.map((c) => [c.name, String(c.documents), formatBytes(c.bytes)]) }]
        : [];
      if (!r.verify.ok) return { status: 'fail', summary: `The backup was written but could not be read back: ${r.verify.detail}.`, hint: 'Do not proceed without a readable backup; check disk space and the tool versions, then run the check again.', evidence: { facts, tables, files: [r.file] } };
      return { status: 'pass', summary: `${formatBytes(r.bytes)} backup in ${formatDuration(r.durationMs)}, read back: ${r.verify.detail}.`, evidence: { facts, tables, files: [r.file] } };
    } catch (e) {
      if (e instanceof FlightdeckError && e.code === 'CANCELLED') throw e;
      const err = e as FlightdeckError;
      return { status: 'fail', summary: `No backup: ${err.message}`, hint: err.hint ?? 'Fix the cause and run the check again.' };
    }
  },
};

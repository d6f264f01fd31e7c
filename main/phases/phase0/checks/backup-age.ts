// Phase 0, recent backup: the newest file in the team's backup folder must be younger than 24 h
// (configurable). The folder is searched two levels deep, as dated sub-folders are common.
import fs from 'node:fs/promises';
import path from 'node:path';
import { formatBytes, formatDuration, type CheckDef } from '../../check';
import type { Phase0Context } from '../context';

interface BackupFile {
  file: string;
  mtimeMs: number;
  size: number;
}

async function newestFile(dir: string, depth: number): Promise<BackupFile | null> {
  let best: BackupFile | null = null;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith('.')) continue;
    let candidate: BackupFile | null = null;
    if (entry.isFile()) {
      const st = await fs.stat(full);
      candidate = { file: full, mtimeMs: st.mtimeMs, size: st.size };
    } else if (entry.isDirectory() && depth > 0) {
      candidate = await newestFile(full, depth - 1);
    }
    if (candidate && (!best || candidate.mtimeMs > best.mtimeMs)) best = candidate;
  }
  return best;
}

export const backupAge: CheckDef<Phase0Context> = {
  id: 'backup-age',
  phase: 0,
  title: 'Recent backup available (< 24 hours old)',
  severity: 'critical',
  async run(ctx) {
    const dir = ctx.settings.backupDir;
    if (!dir) return { status: 'skipped', summary: 'No backup folder was given, so the age of the regular backups was not checked; the backup this phase takes is checked on its own.', hint: 'Give the folder where the regular backups land (--backup-dir) to check their age.' };
    const limitMs = ctx.settings.maxBackupAgeHours * 3600_000;
    let newest: BackupFile | null;
    try {
      newest = await newestFile(dir, 2);
    } catch (e) {
      return { status: 'fail', summary: `The backup folder ${dir} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, hint: 'Check the path and that Flightdeck may read it.' };
    }
    if (!newest) return { status: 'fail', summary: `The backup folder ${dir} holds no backup files.`, hint: 'Take a backup before the window, or point --backup-dir at where they land.', evidence: { facts: [['folder', dir]] } };
    const age = Date.now() - newest.mtimeMs;
    const facts: [string, string][] = [['folder', dir], ['newest', newest.file], ['written', new Date(newest.mtimeMs).toISOString()], ['age', formatDuration(age)], ['size', formatBytes(newest.size)], ['limit', `${ctx.settings.maxBackupAgeHours} h`]];
    if (newest.size === 0) return { status: 'fail', summary: `The newest backup ${path.basename(newest.file)} is empty.`, hint: 'Check the backup job: it wrote an empty file.', evidence: { facts } };
    if (age > limitMs) return { status: 'fail', summary: `The newest backup is ${formatDuration(age)} old, over the ${ctx.settings.maxBackupAgeHours} h limit.`, hint: 'Take a fresh backup (or check why the backup job stopped) before the window.', evidence: { facts } };
    return { status: 'pass', summary: `The newest backup is ${formatDuration(age)} old (${path.basename(newest.file)}, ${formatBytes(newest.size)}).`, evidence: { facts } };
  },
};

// Phase 0, migration tools: which of flyway, liquibase, alembic, migrate and prisma this machine
// has, with versions. Flightdeck runs the set itself; the team's own tool matters when the runbook
// says to roll back with it.
import path from 'node:path';
import type { MigrationFormat } from '../../../../shared/migrations';
import { findTool, locateAll, describeTool, searchDirs } from '../../../tools/find-tool';
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

const tools: { name: string; label: string; args: string[]; format?: MigrationFormat }[] = [
  { name: 'flyway', label: 'Flyway', args: ['-v'], format: 'flyway' },
  { name: 'liquibase', label: 'Liquibase', args: ['--version'] },
  { name: 'alembic', label: 'Alembic', args: ['--version'] },
  { name: 'migrate', label: 'golang-migrate', args: ['-version'], format: 'golang-migrate' },
  { name: 'prisma', label: 'Prisma', args: ['--version'] },
  { name: 'migrate-mongo', label: 'migrate-mongo', args: ['--version'], format: 'migrate-mongo' },
];

/** node_modules/.bin folders from the migrations folder up, where npx would find prisma. */
function nodeBinDirs(from: string | undefined): string[] {
  const out: string[] = [];
  for (let dir = from; dir && dir !== path.dirname(dir); dir = path.dirname(dir)) out.push(path.join(dir, 'node_modules', '.bin'));
  return out;
}

export const migrationTools: CheckDef<Phase0Context> = {
  id: 'migration-tools',
  phase: 0,
  title: 'Migration tools installed',
  severity: 'medium',
  async run(ctx, progress) {
    const rows: string[][] = [];
    const found = new Map<string, string>();
    for (const t of tools) {
      progress(`looking for ${t.name}`);
      let hit = await findTool(t.name, t.args, ctx.settings.tools ?? {});
      if (!hit && !ctx.settings.tools?.dirs) {
        const local = locateAll(t.name, nodeBinDirs(ctx.set?.dir))[0];
        if (local) hit = await describeTool(t.name, local, t.args);
      }
      if (hit) found.set(t.name, hit.version ?? hit.banner);
      rows.push([t.label, hit ? hit.version ?? hit.banner : 'not found', hit?.path ?? '']);
    }
    const own = tools.find((t) => t.format && t.format === ctx.set?.format);
    const evidence = { tables: [{ title: 'Tools', columns: ['tool', 'version', 'path'], rows }], facts: [['searched', (ctx.settings.tools?.dirs ?? searchDirs({}, {})).join(', ')] as [string, string]] };
    if (own && !found.has(own.name)) {
      return {
        status: 'fail',
        summary: `The set is in ${own.label} format and ${own.name} is not installed here; Flightdeck runs the set itself, but a runbook step that uses ${own.name} cannot run from this machine.`,
        hint: `Install ${own.label}, or accept this with a reason if the window relies on Flightdeck alone.`,
        evidence,
      };
    }
    return { status: 'pass', summary: found.size ? `Found ${[...found.entries()].map(([n, v]) => `${n} ${v}`).join(', ')}; Flightdeck runs the set itself.` : 'No external migration tool is installed; Flightdeck runs the set itself.', evidence };
  },
};

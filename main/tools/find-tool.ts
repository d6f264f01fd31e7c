// Finds the command-line tools DBAs trust (pg_dump, mysqldump, flyway, migrate …) and asks each
// for its version, the way a DBA would check by hand: `pg_dump --version`.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface FoundTool {
  name: string;
  path: string;
  /** The first line the tool printed for its version flag. */
  banner: string;
  /** The first dotted number in the banner, e.g. "15.20". */
  version: string | null;
}

export interface ToolSearch {
  /** Folders to search instead of PATH and the usual install locations (tests, pinned setups). */
  dirs?: string[];
}

const exe = process.platform === 'win32' ? '.exe' : '';

/** PostgreSQL client folders beside PATH, newest major first: Debian keeps pg_dump for each
 * installed major in /usr/lib/postgresql/<major>/bin. */
function postgresDirs(): string[] {
  const roots = ['/usr/lib/postgresql', '/usr/pgsql', '/opt/homebrew/opt', '/usr/local/opt'];
  const out: string[] = [];
  for (const root of roots) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(root);
    } catch {
      continue;
    }
    const majors = names.map((n) => ({ n, major: Number(/(\d+)/.exec(n)?.[1] ?? NaN) })).filter((x) => Number.isFinite(x.major) && (root !== '/opt/homebrew/opt' && root !== '/usr/local/opt' ? true : x.n.startsWith('postgresql')));
    majors.sort((a, b) => b.major - a.major);
    for (const m of majors) out.push(path.join(root, m.n, 'bin'));
  }
  return out;
}

export function searchDirs(search: ToolSearch = {}, opts: { postgres?: boolean } = {}): string[] {
  if (search.dirs) return search.dirs;
  const fromPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return opts.postgres ? [...postgresDirs(), ...fromPath] : fromPath;
}

/** Every copy of `name` in the search folders, in search order. */
export function locateAll(name: string, dirs: string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    const candidate = path.join(dir, name + exe);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) out.push(candidate);
    } catch {
      // not here
    }
  }
  return out;
}

export function runVersion(file: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LANG: 'C' } }, (err, stdout, stderr) => {
      const text = `${stdout}\n${stderr}`.trim();
      if (err && !text) reject(err);
      else resolve(text);
    });
  });
}

export async function describeTool(name: string, file: string, versionArgs: string[]): Promise<FoundTool | null> {
  try {
    const out = await runVersion(file, versionArgs);
    const banner = out.split('\n').find((l) => /\d+\.\d+/.test(l))?.trim() ?? out.split('\n')[0]?.trim() ?? '';
    return { name, path: file, banner, version: /(\d+(?:\.\d+)+)/.exec(banner)?.[1] ?? null };
  } catch {
    return null;
  }
}

/** The first working copy of a tool, or null. */
export async function findTool(name: string, versionArgs: string[], search: ToolSearch = {}, opts: { postgres?: boolean } = {}): Promise<FoundTool | null> {
  for (const file of locateAll(name, searchDirs(search, opts))) {
    const found = await describeTool(name, file, versionArgs);
    if (found) return found;
  }
  return null;
}

export function majorOf(version: string | null): number {
  return Number(/^(\d+)/.exec(version ?? '')?.[1] ?? NaN);
}

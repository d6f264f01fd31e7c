// The run journal: one append-only JSON-lines file per run, each entry fsync'd before the runner
// goes on, so after a crash the file says exactly how far the run got. Entries are never rewritten.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { redact } from '../log';

export interface JournalEntry {
  at: string;
  type: string;
  [key: string]: unknown;
}

export class RunJournal {
  private constructor(
    readonly runId: string,
    readonly file: string,
    private readonly handle: fs.FileHandle,
  ) {}

  /** Opens `<dir>/<time>-<runId>.jsonl`, exclusive: a run never appends to another's file. */
  static async open(dir: string, kind: string): Promise<RunJournal> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const runId = `${kind}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
    const file = path.join(dir, `${runId}.jsonl`);
    const handle = await fs.open(file, 'ax', 0o600);
    // The new directory entry must survive a crash too.
    const d = await fs.open(dir, 'r').catch(() => undefined);
    await d?.sync().catch(() => undefined);
    await d?.close();
    return new RunJournal(runId, file, handle);
  }

  private chain: Promise<void> = Promise.resolve();

  /** Appends one entry and waits until it is on disk. Secrets in strings are redacted. */
  append(type: string, fields: Record<string, unknown> = {}): Promise<void> {
    const entry: JournalEntry = { at: new Date().toISOString(), type, ...fields };
    const line = `${redact(JSON.stringify(entry))}\n`;
    this.chain = this.chain.then(async () => {
      await this.handle.appendFile(line, 'utf8');
      await this.handle.sync();
    });
    return this.chain;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.handle.close();
  }
}

/** Reads a journal back (tests, reports); a torn last line from a crash is skipped. */
export async function readJournal(file: string): Promise<JournalEntry[]> {
  const text = await fs.readFile(file, 'utf8');
  const out: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // only the last line can be torn
    }
  }
  return out;
}

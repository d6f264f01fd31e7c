// The deterministic migration set the benchmarks share (bench:migrate, bench:plan): a realistic
// golang-migrate set, the same on every run (fixed seed), so runs and tools compare.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** mulberry32: the same set on every run, so runs compare. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TableState {
  name: string;
  /** Columns an index or a view may use. */
  columns: string[];
  /** Has updated_at, for the trigger migrations. */
  touchable: boolean;
}

export interface Generated {
  name: string;
  up: string;
  down: string;
}

export const words = ['account', 'invoice', 'shipment', 'ledger', 'coupon', 'warehouse', 'supplier', 'review', 'session', 'audit', 'refund', 'tenant', 'badge', 'payout', 'quota'];

/** A realistic mix, each migration valid after the ones before it, each down undoing its up
 * exactly (so the set goes up and down to zero). Every file fits in one transaction, so plain
 * `psql -1` can apply it too. */
export function generateSet(count: number): Generated[] {
  const rnd = prng(20240611);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const tables: TableState[] = [];
  const out: Generated[] = [];
  for (let v = 1; v <= count; v++) {
    const tag = String(v).padStart(4, '0');
    const r = rnd();
    let kind =
      tables.length < 3 || r < 0.2 ? 'table'
      : r < 0.42 ? 'column'
      : r < 0.6 ? 'index'
      : r < 0.72 ? 'seed'
      : r < 0.84 ? 'function'
      : r < 0.89 ? 'view'
      : r < 0.93 ? 'trigger'
      : r < 0.97 ? 'backfill'
      : 'enum';
    // Each table gets at most one touch trigger.
    if (kind === 'trigger' && !tables.some((t) => t.touchable)) kind = 'seed';
    switch (kind) {
      case 'table': {
        const name = `${pick(words)}s_${tag}`;
        const parent = tables.length && rnd() < 0.5 ? pick(tables) : undefined;
        const fk = parent ? `    ${parent.name.replace(/s_\d+$/, '')}_id bigint REFERENCES ${parent.name} (id),\n` : '';
        out.push({
          name: `create_${name}`,
          up:
            `-- ${tag}: ${name}, one row per ${name.replace(/s_\d+$/, '')}.\n` +
            `CREATE TABLE ${name} (\n` +
            `    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n` +
            fk +
            `    name         text NOT NULL,\n` +
            `    status       text NOT NULL DEFAULT 'new',\n` +
            `    amount_cents integer NOT NULL DEFAULT 0,\n` +
            `    created_at   timestamptz NOT NULL DEFAULT now(),\n` +
            `    updated_at   timestamptz NOT NULL DEFAULT now(),\n` +
            `    CONSTRAINT ${name}_amount_check CHECK (amount_cents >= 0)\n` +
            `);\n\n` +
            `CREATE INDEX ${name}_created_at_idx ON ${name} (created_at);\n` +
            `COMMENT ON TABLE ${name} IS 'Created by migration ${tag}; see the runbook.';\n`,
          down: `-- ${tag}: undo create_${name}.\nDROP TABLE IF EXISTS ${name};\n`,
        });
        tables.push({ name, columns: ['name', 'status', 'amount_cents', 'created_at'], touchable: true });
        break;
      }
      case 'column': {
        const t = pick(tables);
        const col = `${pick(['note', 'region', 'score', 'flags', 'external_ref', 'archived_at'])}_${tag}`;
        const type = col.startsWith('score') ? 'integer NOT NULL DEFAULT 0' : col.startsWith('flags') ? "jsonb NOT NULL DEFAULT '{}'::jsonb" : col.startsWith('archived_at') ? 'timestamptz' : 'text';
        out.push({
          name: `add_${col}_to_${t.name}`,
          up: `/* ${tag}: ${t.name} gets ${col}.\n   Nullable or with a default, so the ALTER is instant on PostgreSQL 11+. */\nALTER TABLE ${t.name} ADD COLUMN ${col} ${type};\n`,
          down: `ALTER TABLE ${t.name} DROP COLUMN IF EXISTS ${col};\n`,
        });
        t.columns.push(col);
        break;
      }
      case 'index': {
        const t = pick(tables);
        const cols = rnd() < 0.3 ? [pick(t.columns), 'created_at'].filter((c, i, a) => a.indexOf(c) === i) : [pick(t.columns)];
        const idx = `${t.name}_${cols.join('_')}_${tag}_idx`.slice(0, 63);
        const partial = rnd() < 0.25 ? " WHERE status <> 'archived'" : '';
        out.push({
          name: `index_${t.name}_${cols[0]}`,
          up: `-- ${tag}: speeds up the ${t.name} list filtered by ${cols.join(', ')}.\nCREATE INDEX ${idx} ON ${t.name} (${cols.join(', ')})${partial};\n`,
          down: `DROP INDEX IF EXISTS ${idx};\n`,
        });
        break;
      }
      case 'seed': {
        const t = pick(tables);
        const rows = 3 + Math.floor(rnd() * 4);
        const tricky = ["semi; colon", "it''s quoted", '-- not a comment', '/* not a comment either */', '$$ not a dollar quote $$', 'plain'];
        const values = Array.from({ length: rows }, (_, i) => `    ('seed-${tag}-${i} ${pick(tricky)}', '${pick(['new', 'active', 'archived'])}', ${Math.floor(rnd() * 100_000)})`).join(',\n');
        out.push({
          name: `seed_${t.name}`,
          up: `-- ${tag}: reference rows for ${t.name}.\nINSERT INTO ${t.name} (name, status, amount_cents) VALUES\n${values};\n`,
          down: `DELETE FROM ${t.name} WHERE name LIKE 'seed-${tag}-%';\n`,
        });
        break;
      }
      case 'function': {
        const t = pick(tables);
        const fn = `${t.name}_total_since_${tag}`;
        const tagged = rnd() < 0.3 ? '$body$' : '$$';
        const body =
          rnd() < 0.5
            ? `DECLARE\n    total bigint;\nBEGIN\n    -- counts only rows that are not archived; the ';' here must not split the file\n    SELECT coalesce(sum(amount_cents), 0) INTO total\n      FROM ${t.name}\n     WHERE created_at >= since AND status <> 'archived';\n    IF total < 0 THEN\n        RAISE EXCEPTION 'negative total for %', '${t.name}';\n    END IF;\n    RETURN total;\nEND;`
            : `BEGIN\n    RETURN (SELECT count(*) FROM ${t.name} WHERE created_at >= since);\nEND;`;
        out.push({
          name: `function_${fn}`,
          up: `-- ${tag}: reporting helper for ${t.name}.\nCREATE OR REPLACE FUNCTION ${fn}(since timestamptz)\nRETURNS bigint\nLANGUAGE plpgsql STABLE\nAS ${tagged}\n${body}\n${tagged};\n\nCOMMENT ON FUNCTION ${fn}(timestamptz) IS 'Sum of amount_cents since a time.';\n`,
          down: `DROP FUNCTION IF EXISTS ${fn}(timestamptz);\n`,
        });
        break;
      }
      case 'view': {
        const t = pick(tables);
        const view = `${t.name}_active_${tag}`;
        const cols = ['id', ...t.columns.slice(0, 3)].join(', ');
        out.push({
          name: `view_${view}`,
          up: `-- ${tag}: what the dashboard reads.\nCREATE VIEW ${view} AS\n    SELECT ${cols}\n      FROM ${t.name}\n     WHERE status = 'active';\n`,
          down: `DROP VIEW IF EXISTS ${view};\n`,
        });
        break;
      }
      case 'trigger': {
        const t = pick(tables.filter((x) => x.touchable));
        t.touchable = false;
        const fn = `${t.name}_touch_${tag}`;
        out.push({
          name: `trigger_touch_${t.name}`,
          up:
            `-- ${tag}: keep ${t.name}.updated_at current.\n` +
            `CREATE FUNCTION ${fn}() RETURNS trigger\nLANGUAGE plpgsql AS $fn$\nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$fn$;\n\n` +
            `CREATE TRIGGER ${fn}\n    BEFORE UPDATE ON ${t.name}\n    FOR EACH ROW EXECUTE FUNCTION ${fn}();\n`,
          down: `DROP TRIGGER IF EXISTS ${fn} ON ${t.name};\nDROP FUNCTION IF EXISTS ${fn}();\n`,
        });
        break;
      }
      case 'backfill': {
        const t = pick(tables);
        out.push({
          name: `backfill_${t.name}_status`,
          up:
            `-- ${tag}: rows from the old importer had an empty status.\n` +
            `DO $$\nDECLARE\n    n integer;\nBEGIN\n    UPDATE ${t.name} SET status = 'new' WHERE status = '';\n    GET DIAGNOSTICS n = ROW_COUNT;\n    RAISE NOTICE 'backfilled % row(s) of ${t.name}', n;\nEND\n$$;\n`,
          down: `-- ${tag}: nothing to undo: the empty statuses are not restored.\nSELECT 1;\n`,
        });
        break;
      }
      case 'enum': {
        const t = pick(tables);
        const type = `${t.name}_tier_${tag}`;
        const col = `tier_${tag}`;
        out.push({
          name: `enum_${type}`,
          up: `-- ${tag}: customer tiers.\nCREATE TYPE ${type} AS ENUM ('free', 'team', 'enterprise');\nALTER TABLE ${t.name} ADD COLUMN ${col} ${type} NOT NULL DEFAULT 'free';\n`,
          down: `ALTER TABLE ${t.name} DROP COLUMN IF EXISTS ${col};\nDROP TYPE IF EXISTS ${type};\n`,
        });
        break;
      }
    }
  }
  return out;
}

export function writeSet(dir: string, set: readonly Generated[]): { files: string[] } {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  set.forEach((m, i) => {
    const base = `${String(i + 1).padStart(4, '0')}_${m.name}`;
    fs.writeFileSync(path.join(dir, `${base}.up.sql`), m.up);
    fs.writeFileSync(path.join(dir, `${base}.down.sql`), m.down);
    files.push(base);
  });
  return { files };
}

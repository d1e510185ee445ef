/**
 * The one SQLite binding seam: the SQLite store sees only `SqlDatabase`, and which library backs it is chosen at
 * run time.
 *
 * Why two: the guest runs Node 22, where the built-in `node:sqlite` needs nothing shipped (a native addon there
 * would mean a prebuilt `.node` per guest arch in the image); the host runs Node 20, which has no `node:sqlite`,
 * so there it is `better-sqlite3` 12 (13 needs Node 22 and segfaults on Node 20). Both are synchronous, which
 * the store relies on: a transaction, its fsync and the watch fan-out run in one turn of the event loop, so no
 * read or watch registration can interleave with a half-applied write.
 *
 * better-sqlite3 is imported lazily: its addon is built for the host's Node ABI and cannot even be loaded by
 * another Node, so Node 22 must never touch it. `BERTH_SQLITE_BINDING` forces one (tests, bench).
 */

export type SqlValue = string | number | bigint | null;
export type SqlRow = Record<string, SqlValue>;

export interface SqlStatement {
  run(...params: SqlValue[]): void;
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
}

export interface SqlDatabase {
  readonly binding: BindingName;
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  close(): void;
}

export type BindingName = 'node:sqlite' | 'better-sqlite3';

/** The part of Node 22's `node:sqlite` we use (Node 20's types do not have it). */
interface NodeSqliteModule {
  DatabaseSync: new (file: string) => {
    exec(sql: string): void;
    prepare(sql: string): {
      run(...p: SqlValue[]): unknown;
      get(...p: SqlValue[]): SqlRow | undefined;
      all(...p: SqlValue[]): SqlRow[];
    };
    close(): void;
  };
}

interface BetterSqliteModule {
  default: new (file: string) => {
    exec(sql: string): void;
    prepare(sql: string): {
      run(...p: SqlValue[]): unknown;
      get(...p: SqlValue[]): unknown;
      all(...p: SqlValue[]): unknown[];
    };
    close(): void;
  };
}

function nodeMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}

/** The binding this process uses: the env override, else node:sqlite from Node 22 on, else better-sqlite3. */
export function chooseBinding(env: NodeJS.ProcessEnv = process.env): BindingName {
  const forced = env.BERTH_SQLITE_BINDING;
  if (forced === 'node:sqlite' || forced === 'better-sqlite3') return forced;
  if (forced) throw new Error(`BERTH_SQLITE_BINDING must be node:sqlite or better-sqlite3, not ${forced}`);
  return nodeMajor() >= 22 ? 'node:sqlite' : 'better-sqlite3';
}

export async function openDatabase(
  file: string,
  binding: BindingName = chooseBinding(),
): Promise<SqlDatabase> {
  if (binding === 'node:sqlite') {
    // A variable specifier keeps TypeScript (Node 20's types) from resolving a module it does not know.
    const spec = 'node:sqlite';
    const mod = await silenceExperimentalWarning(() => import(spec) as Promise<NodeSqliteModule>);
    const db = new mod.DatabaseSync(file);
    return {
      binding,
      exec: (sql) => db.exec(sql),
      prepare: (sql) => {
        const s = db.prepare(sql);
        return { run: (...p) => void s.run(...p), get: (...p) => s.get(...p), all: (...p) => s.all(...p) };
      },
      close: () => db.close(),
    };
  }
  const mod = (await import('better-sqlite3')) as unknown as BetterSqliteModule;
  const db = new mod.default(file);
  return {
    binding,
    exec: (sql) => void db.exec(sql),
    prepare: (sql) => {
      const s = db.prepare(sql);
      return {
        run: (...p) => void s.run(...p),
        get: (...p) => s.get(...p) as SqlRow | undefined,
        all: (...p) => s.all(...p) as SqlRow[],
      };
    },
    close: () => void db.close(),
  };
}

/** Node 22 prints an ExperimentalWarning on loading node:sqlite; berth-kube's stderr is JSON lines only. */
async function silenceExperimentalWarning<T>(load: () => Promise<T>): Promise<T> {
  const original = Reflect.get(process, 'emitWarning') as (...a: unknown[]) => void;
  const filtered = (warning: string | Error, ...rest: unknown[]): void => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    Reflect.apply(original, process, [warning, ...rest]);
  };
  Reflect.set(process, 'emitWarning', filtered);
  try {
    return await load();
  } finally {
    Reflect.set(process, 'emitWarning', original);
  }
}

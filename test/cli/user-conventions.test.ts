/**
 * The conventions people expect from a command line (gh, stripe, npm), checked as a new user
 * would: -h and --help everywhere, options before the command, an environment twin for what a
 * container or a script sets, NO_COLOR / FORCE_COLOR / TERM=dumb, one JSON object for a failure
 * under --json, distinct exit codes documented in --help and docs/cli.md, and shell completion for
 * bash and zsh made from the command table. Mostly the CLI's main() in this process with in-memory
 * streams and real SQLite journals in temp dirs; child processes of the built CLI
 * (dist/cli/main.js) where a terminal or a server is what is tested; a real bash runs the
 * completion script.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.js';
import { EXIT, EXIT_CODES } from '../../src/cli/exit-codes.js';
import { ENVIRONMENT } from '../../src/cli/help.js';
import { outputStyle } from '../../src/cli/io.js';
import { createJournal, openSqlite } from '../../src/engine/index.js';
import { cleanRefusal, createHarness, journalWithRun, ROOT, runMain, type Exit } from '../helpers/cli.js';
import { runOnTerminal } from '../reliability/security-helpers.js';

const h = createHarness();
afterEach(() => h.cleanup());
afterAll(() => h.cleanupAll());

const ESC = '\u001b';
const show = (e: Exit): string => `code ${e.code}\nstdout: ${e.stdout.slice(-2000)}\nstderr: ${e.stderr.slice(-2000)}`;

/** Every command and subcommand: the table's names, and the words each command module says may follow it. */
async function everyCommand(): Promise<string[][]> {
  const all: string[][] = [['completion']];
  for (const [name, entry] of Object.entries(COMMANDS)) {
    all.push(name.split(' '));
    for (const sub of (await entry.load()).SUBCOMMANDS ?? []) all.push([...name.split(' '), sub]);
  }
  return all;
}

describe('-h and --help', () => {
  it('work on every command and subcommand, as does `sunset help ...`: exit 0, the same usage on stdout, nothing on stderr', async () => {
    const commands = await everyCommand();
    expect(commands.map((c) => c.join(' '))).toEqual(expect.arrayContaining(['scan', 'runs show', 'contacts deactivate', 'auth login', 'users add', 'emulator start', 'completion']));
    for (const words of commands) {
      const what = `sunset ${words.join(' ')}`;
      const long = await runMain([...words, '--help']);
      expect(long.code, what).toBe(0);
      expect(long.stdout, what).toMatch(new RegExp(`^Usage: sunset ${words[0]}`));
      expect(long.stderr, what).toBe('');
      for (const other of [[...words, '-h'], ['help', ...words]]) {
        const exit = await runMain(other);
        expect(exit.code, other.join(' ')).toBe(0);
        expect(exit.stdout, other.join(' ')).toBe(long.stdout);
      }
    }
  });

  it('lists only options its command accepts: every --flag in a command\'s help parses (the defect: serve listed --org and --json)', async () => {
    const wrong: string[] = [];
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const module = await entry.load();
      const accepted = new Set(Object.keys(module.OPTIONS ?? {}).flatMap((o) => (module.NEGATABLE?.includes(o) ? [`--${o}`, `--no-${o}`] : [`--${o}`])));
      const help = (await runMain([...name.split(' '), '--help'])).stdout;
      // An option line: two spaces, then the flag (or `-h, --help`).
      const listed = [...help.matchAll(/^ {2}(?:-[a-z], )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!);
      expect(listed.length, name).toBeGreaterThan(0);
      for (const flag of listed) if (!accepted.has(flag) && flag !== '--help') wrong.push(`sunset ${name} ${flag}`);
    }
    expect(wrong).toEqual([]);
  });

  it('a command that needs a subcommand (auth, users, contacts) without one: exit 2 naming them, its usage on stderr, nothing on stdout', async () => {
    for (const [command, subcommands] of [['auth', ['login', 'status', 'logout']], ['users', ['add']], ['contacts', ['activate', 'deactivate']]] as const) {
      const exit = await runMain([command]);
      expect(exit.code, command).toBe(EXIT.usage);
      expect(exit.stdout, command).toBe('');
      expect(exit.stderr).toMatch(new RegExp(`^sunset: \`sunset ${command}\` needs a subcommand: `));
      for (const sub of subcommands) expect(exit.stderr).toContain(`sunset ${command} ${sub}`);
      expect(exit.stderr).toContain(`Usage: sunset ${command}`);
    }
  });
});

describe('options before the command', () => {
  it('sunset --db FILE runs (and --db=FILE, --json) is sunset runs --db FILE', async () => {
    const { db, runId } = await journalWithRun(h.temp());
    const list = await runMain(['runs', '--db', db, '--json']);
    expect(list.code, show(list)).toBe(0);
    expect(list.stdout).toContain(runId);
    for (const args of [['--db', db, 'runs', '--json'], [`--db=${db}`, '--json', 'runs'], ['--json', '--db', db, 'runs']]) {
      const exit = await runMain(args);
      expect(exit.code, args.join(' ')).toBe(0);
      expect(exit.stdout, args.join(' ')).toBe(list.stdout);
    }
    const one = await runMain(['--db', db, '--json', 'runs', 'show', runId]);
    expect(one.code, show(one)).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ run: { runId } });
  });

  it('anything else before the command is refused clearly (exit 2), never taken as the command', async () => {
    const dir = h.temp();
    const cases: Array<[string[], string]> = [
      [['--bogus', 'runs'], 'Unknown option "--bogus" before the command'],
      [['--db'], '--db needs a value'],
      [['--db', join(dir, 'x.db')], 'and the command?'],
      [['--db', join(dir, 'x.db'), 'emulator', 'start'], 'put it after the command (sunset emulator start --db ...)'],
      [['--org', '701000001', 'demo'], 'Unknown option \'--org\''],
    ];
    for (const [args, message] of cases) {
      const exit = await runMain(args);
      expect(exit.code, args.join(' ')).toBe(EXIT.usage);
      expect(exit.stdout, args.join(' ')).toBe('');
      expect(exit.stderr, args.join(' ')).toContain(message);
      expect(exit.stderr, args.join(' ')).not.toContain('Unknown command');
      expect(cleanRefusal(exit)).toEqual([]);
    }
  });
});

describe('environment twins', () => {
  it('SUNSET_DB and SUNSET_ORG stand in for --db and --org; a flag beats its twin; a bad value names the variable', async () => {
    const dir = h.temp();
    const { db, runId } = await journalWithRun(dir);
    const ids = (exit: Exit): string[] => (JSON.parse(exit.stdout) as Array<{ run: { runId: string } }>).map((r) => r.run.runId);
    expect(ids(await runMain(['runs', '--json'], { env: { SUNSET_DB: db } }))).toEqual([runId]);
    expect(ids(await runMain(['runs', '--json', '--db', join(dir, 'other.db')], { env: { SUNSET_DB: db } }))).toEqual([]);
    expect(ids(await runMain(['runs', '--json'], { env: { SUNSET_DB: db, SUNSET_ORG: '701000002' } }))).toEqual([]);
    expect(ids(await runMain(['runs', '--json'], { env: { SUNSET_DB: db, SUNSET_ORG: '701000001' } }))).toEqual([runId]);
    expect(ids(await runMain(['runs', '--json', '--org', '701000001'], { env: { SUNSET_DB: db, SUNSET_ORG: '701000002' } }))).toEqual([runId]);
    // `users add` keeps its users in the journal SUNSET_DB names.
    const added = await runMain(['users', 'add', 'alice'], { env: { SUNSET_DB: db, SUNSET_PASSWORD: 'a long passphrase, really' } });
    expect(added.code, show(added)).toBe(0);
    const users = openSqlite(db);
    try {
      expect(await users.all('SELECT username FROM users')).toEqual([{ username: 'alice' }]);
    } finally {
      await users.close();
    }

    const badOrg = await runMain(['runs'], { env: { SUNSET_DB: db, SUNSET_ORG: 'acme' } });
    expect(badOrg.code).toBe(EXIT.usage);
    expect(badOrg.stderr).toBe('sunset: SUNSET_ORG=acme: an organization id is digits only.\n');
    const badDb = await runMain(['runs'], { env: { SUNSET_DB: join(dir, 'missing', 'sunset.db') } });
    expect(badDb.code).toBe(EXIT.usage);
    expect(badDb.stderr).toContain(`SUNSET_DB=${join(dir, 'missing', 'sunset.db')}: the directory ${join(dir, 'missing')} does not exist.`);
  });

  it('SUNSET_EMULATOR (and its older name SUNSET_EMULATOR_URL) stand in for --emulator; --emulator and --credentials beat them', async () => {
    const emu = await h.startEmulator(['--contacts', '20']);
    const dir = h.temp();
    const env = { SUNSET_HOME: join(dir, 'home') };
    const booksCalls = async (since: number): Promise<number> => (await emu.requests(since)).filter((r) => r.path.startsWith('/books/')).length;
    for (const name of ['SUNSET_EMULATOR', 'SUNSET_EMULATOR_URL']) {
      const since = await emu.seq();
      const exit = await runMain(['orgs', '--db', join(dir, `${name}.db`)], { env: { ...env, [name]: emu.origin } });
      expect(exit.code, show(exit)).toBe(0);
      expect(exit.stdout).toContain(`Organizations reachable through the emulator at ${emu.origin}:`);
      expect(await booksCalls(since)).toBeGreaterThan(0);
    }
    // The flag beats the variable: no call reaches the emulator it names.
    let since = await emu.seq();
    const flagged = await runMain(['orgs', '--emulator', 'embedded', '--quiet', '--db', join(dir, 'flag.db')], { env: { ...env, SUNSET_EMULATOR: emu.origin } });
    expect(flagged.code, show(flagged)).toBe(0);
    expect(flagged.stdout).toContain('Organizations reachable through the embedded emulator:');
    expect(await booksCalls(since)).toBe(0);

    // --credentials FILE on the command line beats an emulator named in the environment (it used to lose to SUNSET_EMULATOR_URL).
    const credentials = join(dir, 'credentials.json');
    const login = await runMain(['auth', 'login', '--emulator', emu.origin, '--credentials', credentials, '--org', emu.organization], { env });
    expect(login.code, show(login)).toBe(0);
    for (const name of ['SUNSET_EMULATOR', 'SUNSET_EMULATOR_URL']) {
      since = await emu.seq();
      const exit = await runMain(['orgs', '--credentials', credentials, '--db', join(dir, `creds-${name}.db`)], { env: { ...env, [name]: 'embedded' } });
      expect(exit.code, show(exit)).toBe(0);
      expect(exit.stdout, name).toContain(`Organizations reachable through the emulator at ${emu.origin}:`);
      expect(await booksCalls(since)).toBeGreaterThan(0);
    }

    const bad = await runMain(['orgs', '--db', join(dir, 'bad.db')], { env: { ...env, SUNSET_EMULATOR: 'http://[::1' } });
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toBe('sunset: SUNSET_EMULATOR=http://[::1: not an address like http://127.0.0.1:8742 (or "embedded").\n');
  });

  it('serve refuses a bad SUNSET_PORT, SUNSET_PUBLIC_URL, SUNSET_METRICS_TOKEN or SUNSET_SECURE_COOKIES, naming the variable, before anything starts', async () => {
    const { db } = await journalWithRun(h.temp());
    const cases: Array<[Record<string, string>, string]> = [
      [{ SUNSET_PORT: 'eighty' }, 'SUNSET_PORT must be a whole number from 0 to 65535 (got "eighty")'],
      [{ SUNSET_PUBLIC_URL: 'ftp://sunset.example.com' }, 'SUNSET_PUBLIC_URL: "ftp://sunset.example.com" is not an address like https://sunset.example.com'],
      [{ SUNSET_METRICS_TOKEN: 'short' }, 'SUNSET_METRICS_TOKEN: the token needs at least 16 characters'],
      [{ SUNSET_METRICS_TOKEN_FILE: join(db, 'nope') }, 'SUNSET_METRICS_TOKEN_FILE: cannot read it'],
      [{ SUNSET_SECURE_COOKIES: 'maybe' }, 'SUNSET_SECURE_COOKIES must be 1 or 0'],
    ];
    for (const [env, message] of cases) {
      const exit = await runMain(['serve'], { env: { SUNSET_DB: db, ...env } });
      expect(exit.code, JSON.stringify(env)).toBe(EXIT.usage);
      expect(exit.stderr, JSON.stringify(env)).toContain(message);
      expect(exit.stdout).toBe('');
    }
  });

  it('serve takes its host, port, public URL and metrics token from the environment (a container\'s way); --port beats SUNSET_PORT', async () => {
    const dir = h.temp();
    const db = join(dir, 'sunset.db');
    const added = await runMain(['users', 'add', 'admin', '--db', db], { env: { SUNSET_PASSWORD: 'a long passphrase, really' } });
    expect(added.code, show(added)).toBe(0);
    const token = 'metrics-token-0123456789';
    const env = {
      SUNSET_HOME: join(dir, 'home'), SUNSET_DB: db, SUNSET_EMULATOR: 'embedded', SUNSET_HOST: '127.0.0.1', SUNSET_PORT: '0',
      SUNSET_PUBLIC_URL: 'https://sunset.example.com', SUNSET_METRICS_TOKEN: token,
    };
    for (const [args, extra] of [[[], {}], [['--port', '0'], { SUNSET_PORT: 'not-a-port' }]] as const) {
      const serve = h.spawn(['serve', ...args], { cwd: dir, env: { ...env, ...extra } });
      await serve.waitFor((out) => /Sunset is serving http:\/\/127\.0\.0\.1:\d+ /.test(out));
      const origin = /Sunset is serving (http:\/\/127\.0\.0\.1:\d+) /.exec(serve.stdout)![1]!;
      expect(origin).not.toBe('http://127.0.0.1:8080');
      expect((await fetch(`${origin}/metrics`)).status).toBe(401);
      expect((await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      serve.kill('SIGINT');
      const exit = await serve.exited;
      expect(exit.code, show(exit)).toBe(0);
    }
  });

  it('--help names each twin: the common options in every engine command\'s help, serve\'s own, and every variable in sunset --help', async () => {
    for (const command of ['scan', 'plan', 'apply', 'undo', 'verify', 'orgs', 'contacts', 'policy init']) {
      const help = (await runMain([...command.split(' '), '--help'])).stdout;
      for (const name of ['SUNSET_DB', 'SUNSET_ORG', 'SUNSET_EMULATOR', 'SUNSET_CREDENTIALS']) expect(help, `${command}: ${name}`).toContain(name);
    }
    const serve = (await runMain(['serve', '--help'])).stdout;
    for (const name of ['SUNSET_HOST', 'SUNSET_PORT', 'SUNSET_PUBLIC_URL', 'SUNSET_METRICS_TOKEN', 'SUNSET_METRICS_TOKEN_FILE', 'SUNSET_CRM_MAPPING', 'SUNSET_SECURE_COOKIES', 'SUNSET_SMTP_URL', 'SUNSET_SMTP_PASSWORD', 'SUNSET_SMTP_PASSWORD_FILE', 'SUNSET_MAIL_FROM', 'SUNSET_DB', 'SUNSET_EMULATOR']) {
      expect(serve, name).toContain(name);
    }
    const top = (await runMain(['--help'])).stdout;
    for (const e of ENVIRONMENT) expect(top).toMatch(new RegExp(`^ {2}${e.name} +\\S`, 'm'));
  });
});

describe('colour and escape sequences', () => {
  it('are decided once from NO_COLOR, FORCE_COLOR, TERM and the terminal', () => {
    const tty = { stdout: true, stderr: true };
    const pipe = { stdout: false, stderr: false };
    expect(outputStyle({}, tty)).toEqual({ color: true, escapes: true });
    expect(outputStyle({}, pipe)).toEqual({ color: false, escapes: false });
    expect(outputStyle({ NO_COLOR: '1' }, tty)).toEqual({ color: false, escapes: false });
    expect(outputStyle({ NO_COLOR: '' }, tty)).toEqual({ color: true, escapes: true });
    expect(outputStyle({ NO_COLOR: '1', FORCE_COLOR: '1' }, tty)).toEqual({ color: false, escapes: false });
    expect(outputStyle({ FORCE_COLOR: '1' }, pipe)).toEqual({ color: true, escapes: false });
    expect(outputStyle({ FORCE_COLOR: '0' }, tty)).toEqual({ color: false, escapes: true });
    expect(outputStyle({ TERM: 'dumb' }, tty)).toEqual({ color: false, escapes: false });
    expect(outputStyle({ TERM: 'dumb', FORCE_COLOR: 'true' }, pipe)).toEqual({ color: true, escapes: false });
  });

  it('runs show colours on a terminal, and not under NO_COLOR or TERM=dumb; FORCE_COLOR colours a pipe', async () => {
    const { db, runId } = await journalWithRun(h.temp());
    const args = ['runs', 'show', runId, '--db', db];
    const on = async (env: Record<string, string>, stdout: boolean): Promise<string> => {
      const exit = await runMain(args, { env, tty: { stdout, stderr: stdout } });
      expect(exit.code, show(exit)).toBe(0);
      return exit.stdout + exit.stderr;
    };
    expect(await on({}, true)).toContain(ESC);
    expect(await on({ NO_COLOR: '1' }, true)).not.toContain(ESC);
    expect(await on({ NO_COLOR: '1', FORCE_COLOR: '1' }, true)).not.toContain(ESC);
    expect(await on({ TERM: 'dumb' }, true)).not.toContain(ESC);
    expect(await on({}, false)).not.toContain(ESC);
    expect(await on({ FORCE_COLOR: '1' }, false)).toContain(ESC);
  });

  it('progress on a terminal rewrites its line, and under NO_COLOR prints no escape sequence at all (sunset demo)', async () => {
    const dir = h.temp();
    const run = async (env: Record<string, string>): Promise<Exit> => {
      const exit = await runMain(['demo', '--contacts', '60', '--report', join(dir, 'report.html')], { env, tty: { stdout: true, stderr: true } });
      expect(exit.code, show(exit)).toBe(0);
      return exit;
    };
    expect((await run({})).stderr).toContain(`\r${ESC}[2K`);
    const plain = await run({ NO_COLOR: '1' });
    expect(plain.stdout + plain.stderr).not.toContain(ESC);
  });

  it('on a real terminal: NO_COLOR leaves every escape sequence out, while without it the summary is coloured', async () => {
    const { db, runId } = await journalWithRun(h.temp());
    const coloured = await runOnTerminal(['runs', 'show', runId, '--db', db], { NO_COLOR: '' }, []);
    expect(coloured.code, coloured.shown).toBe(0);
    expect(coloured.shown).toContain(`Sunset run${ESC}[0m ${runId}`);
    const plain = await runOnTerminal(['runs', 'show', runId, '--db', db], { NO_COLOR: '1' }, []);
    expect(plain.code, plain.shown).toBe(0);
    expect(plain.shown).toContain(`Sunset run ${runId}`);
    expect(plain.shown).not.toContain(ESC);
  });
});

describe('--json failures', () => {
  it('print one JSON object {"error": {"code", "message"}} on stdout and nothing on stderr; the code names the exit code; the message is the one a person reads', async () => {
    const dir = h.temp();
    const { db } = await journalWithRun(dir);
    const cases: Array<{ args: string[]; exit: number; code: string }> = [
      { args: ['scan', '--json', '--bogus'], exit: EXIT.usage, code: 'usage' },
      { args: ['--json', 'nope'], exit: EXIT.usage, code: 'usage' },
      { args: ['contacts', '--json'], exit: EXIT.usage, code: 'usage' },
      { args: ['contacts', 'deactivate', '12345', '--json', '--db', db], exit: EXIT.usage, code: 'usage' },
      { args: ['emulator', 'start', '--json', '--port', 'abc'], exit: EXIT.usage, code: 'usage' },
      { args: ['runs', 'show', 'run-nope', '--json', '--db', db], exit: EXIT.notFound, code: 'not_found' },
      { args: ['runs', 'check', '--json', '--db', join(dir, 'missing.db')], exit: EXIT.notFound, code: 'not_found' },
      { args: ['apply', '--resume', 'run-nope', '--yes', '--json', '--db', db], exit: EXIT.notFound, code: 'not_found' },
      { args: ['verify', 'run-nope', '--json', '--db', db], exit: EXIT.notFound, code: 'not_found' },
      { args: ['apply', '--json', '--db', db], exit: EXIT.notFound, code: 'not_found' },
    ];
    for (const c of cases) {
      const what = `sunset ${c.args.join(' ')}`;
      const exit = await runMain(c.args, { env: { SUNSET_HOME: join(dir, 'home') } });
      expect(exit.code, `${what}\n${show(exit)}`).toBe(c.exit);
      expect(exit.stderr, what).toBe('');
      expect(exit.stdout.endsWith('\n') && exit.stdout.indexOf('\n') === exit.stdout.length - 1, what).toBe(true);
      const doc = JSON.parse(exit.stdout) as { error: { code: string; message: string } };
      expect(Object.keys(doc), what).toEqual(['error']);
      expect(doc.error.code, what).toBe(c.code);
      // Without --json: the same message, on stderr.
      const text = await runMain(c.args.filter((a) => a !== '--json'), { env: { SUNSET_HOME: join(dir, 'home') } });
      expect(text.code, what).toBe(c.exit);
      expect(text.stderr, what).toBe(`sunset: ${doc.error.message}\n`);
    }
  });
});

describe('--json answers', () => {
  it('are JSON where text used to slip through: apply --resume of a finished run, policy init; audit --json refuses --format csv', async () => {
    const dir = h.temp();
    const { db, runId } = await journalWithRun(dir);
    const database = openSqlite(db);
    try {
      await database.run('UPDATE runs SET state = \'done\', finished_at = ? WHERE run_id = ?', [Date.now(), runId]);
    } finally {
      await database.close();
    }
    const env = { SUNSET_HOME: join(dir, 'home') };
    const resumed = await runMain(['apply', '--resume', runId, '--yes', '--json', '--db', db], { env });
    expect(resumed.code, show(resumed)).toBe(EXIT.ok);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ run: { runId, state: 'done' }, interrupted: false, apiCalls: 0 });

    const file = join(dir, 'policy.yaml');
    const init = await runMain(['policy', 'init', file, '--org', '701000001', '--json', '--db', db], { env });
    expect(init.code, show(init)).toBe(EXIT.ok);
    expect(JSON.parse(init.stdout)).toEqual({ file, organizationId: '701000001' });

    const audit = await runMain(['audit', '--json', '--format', 'csv', '--db', db]);
    expect(audit.code).toBe(EXIT.usage);
    expect(JSON.parse(audit.stdout)).toEqual({ error: { code: 'usage', message: '--json and --format csv disagree: give one of them.' } });
  });
});

describe('exit codes', () => {
  it('are distinct, each listed in sunset --help with its --json code', async () => {
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
    expect(EXIT_CODES.map((e) => e.exit).sort((a, b) => a - b)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
    const top = (await runMain(['--help'])).stdout;
    for (const e of EXIT_CODES) expect(top).toMatch(new RegExp(`^ +${e.exit} +${e.code} +\\S`, 'm'));
  });

  it('docs/cli.md describes every exit code, every environment variable and the --json failure shape; README points to it', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    for (const e of EXIT_CODES) expect(doc, `exit ${e.exit}`).toMatch(new RegExp(`\\| *${e.exit} *\\| *\`${e.code}\` *\\|`));
    for (const e of ENVIRONMENT) expect(doc, e.name).toContain(`\`${e.name}\``);
    expect(doc).toContain('{"error": {"code": "not_found", "message": ');
    expect(doc).toContain('sunset completion bash');
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('(docs/cli.md)');
  });

  it('runs check that finds problems exits 4 (differences), with them listed', async () => {
    const { db, runId } = await journalWithRun(h.temp());
    expect((await runMain(['runs', 'check', '--db', db])).code).toBe(EXIT.ok);
    const database = openSqlite(db);
    try {
      await database.run('UPDATE runs SET state = \'done\' WHERE run_id = ?', [runId]);
    } finally {
      await database.close();
    }
    const exit = await runMain(['runs', 'check', '--db', db]);
    expect(exit.code, show(exit)).toBe(EXIT.differences);
    expect(exit.stdout).toContain(`done without a finish time`);
    const json = await runMain(['runs', 'check', '--db', db, '--json']);
    expect(json.code).toBe(EXIT.differences);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false });
  });

  it('verify that finds a lost transaction exits 4 (differences), naming it; with --json its document, ok false', async () => {
    // The whole job on the embedded emulator, in this process; then a transaction of a changed
    // contact is deleted from the emulator's file (nothing modified explains it: a loss).
    const dir = h.temp();
    const db = join(dir, 'sunset.db');
    const opts = { env: { SUNSET_HOME: join(dir, 'home') } };
    const policy = join(dir, 'policy.yaml');
    expect((await runMain(['policy', 'init', policy, '--db', db, '--org', '701000001', '--quiet'], opts)).code).toBe(EXIT.ok);
    writeFileSync(policy, readFileSync(policy, 'utf8').replace(/^max_changes: \d+$/m, 'max_changes: 5'));
    expect((await runMain(['scan', '--policy', policy, '--db', db, '--quiet'], opts)).code).toBe(EXIT.ok);
    expect((await runMain(['plan', '--org', '701000001', '--db', db, '--quiet'], opts)).code).toBe(EXIT.ok);
    const applied = await runMain(['apply', '--yes', '--db', db, '--json'], opts);
    expect(applied.code, show(applied)).toBe(EXIT.ok);
    const runId = (JSON.parse(applied.stdout) as { run: { runId: string } }).run.runId;
    expect((await runMain(['verify', runId, '--db', db, '--quiet'], opts)).code).toBe(EXIT.ok);

    const journal = createJournal(openSqlite(db));
    const counted = (await journal.getFingerprint(runId, 'before')).find((row) => row.count > 0)!;
    await journal.close();
    expect(counted, 'a changed contact with a transaction').toBeDefined();
    const emulatorDb = openSqlite(join(dir, 'sunset-emulator.db'));
    const gone = await emulatorDb.get<{ transaction_id: string }>('SELECT transaction_id FROM transactions WHERE contact_id = ? AND type = ? LIMIT 1', [counted.contactId, counted.transactionType]);
    expect(await emulatorDb.run('DELETE FROM transactions WHERE transaction_id = ?', [gone!.transaction_id])).toBe(1);
    await emulatorDb.close();

    const text = await runMain(['verify', runId, '--db', db, '--quiet'], opts);
    expect(text.code, show(text)).toBe(EXIT.differences);
    expect(text.stdout).toContain(counted.contactId);
    const json = await runMain(['verify', runId, '--db', db, '--json'], opts);
    expect(json.code).toBe(EXIT.differences);
    const doc = JSON.parse(json.stdout) as { ok: boolean; differences: Array<{ contactId: string; transactionType: string; explained: string | null }> };
    expect(doc.ok).toBe(false);
    expect(doc.differences).toContainEqual(expect.objectContaining({ contactId: counted.contactId, transactionType: counted.transactionType, explained: null }));
  });

  it('a run that finishes with a failed step exits 5 (failed steps), its document on stdout', async () => {
    const dir = h.temp();
    const { db, runId } = await journalWithRun(dir, ['460000000000001', '460000000000002']);
    // The first step failed in an earlier attempt (as a refused change would): the resume does the second.
    const journal = createJournal(openSqlite(db));
    try {
      const [step] = await journal.claimSteps(runId, 'test:1:x', Date.now(), 60_000, 1);
      expect(await journal.finishStep(runId, step!.seq, 'test:1:x', { state: 'failed', lastError: 'refused by Zoho', finishedAt: Date.now() })).toBe(true);
    } finally {
      await journal.close();
    }
    const exit = await runMain(['apply', '--resume', runId, '--yes', '--json', '--db', db], { env: { SUNSET_HOME: join(dir, 'home') } });
    expect(exit.code, show(exit)).toBe(EXIT.failedSteps);
    const doc = JSON.parse(exit.stdout) as { run: { state: string }; counts: { failed: number; pending: number } };
    expect(doc.counts).toMatchObject({ failed: 1, pending: 0 });
  });
});

describe('shell completion', () => {
  /** Runs the bash script and asks it to complete each line (the word under the cursor last); the candidates of each. */
  function complete(script: string, lines: string[]): string[][] {
    const file = join(h.temp(), 'sunset.bash');
    writeFileSync(file, script);
    const queries = lines.map((line, i) => {
      const words = ['sunset', ...line.split(' ')];
      return `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _sunset; echo "${i}:\${COMPREPLY[*]}"`;
    });
    const result = spawnSync('bash', ['-c', `source '${file}'\n${queries.join('\n')}`], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = result.stdout.trimEnd().split('\n');
    expect(out).toHaveLength(lines.length);
    return out.map((l, i) => {
      expect(l.startsWith(`${i}:`)).toBe(true);
      return l.slice(`${i}:`.length).split(' ').filter((w) => w !== '');
    });
  }

  it('sunset completion bash completes commands, subcommands and each command\'s flags (from the command table), and file names after a flag that takes one', async () => {
    const exit = await runMain(['completion', 'bash']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('complete -o default -F _sunset sunset');
    const [top, emulator, contacts, deactivate, scanAfterValue, policyValue, runs, apply, shells, helpEmu] = complete(exit.stdout, [
      '', 'emulator ', 'contacts ', 'contacts deactivate 460000000000001 --f', 'scan --db x.db --p', 'scan --policy ', 'runs ', 'apply --no', 'completion ', 'help emu',
    ]);
    const firstWords = [...new Set(Object.keys(COMMANDS).map((n) => n.split(' ')[0]!))];
    expect(top).toEqual(expect.arrayContaining([...firstWords, 'help', 'completion', '--help', '--version', '--db']));
    expect(emulator).toEqual(['start', '--help']);
    expect(contacts).toEqual(expect.arrayContaining(['activate', 'deactivate']));
    expect(deactivate!.sort()).toEqual(['--force', '--from']);
    expect(scanAfterValue!.sort()).toEqual(['--per-minute', '--policy']);
    expect(policyValue).toEqual([]);
    expect(runs).toEqual(expect.arrayContaining(['show', 'check', '--limit']));
    expect(apply).toEqual(['--no-fingerprint']);
    expect(shells).toEqual(['bash', 'zsh', '--help']);
    expect(helpEmu).toEqual(['emulator']);

    // Every flag of every command, read from its module, completes after that command.
    const lines: string[] = [];
    const wanted: string[] = [];
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const module = await entry.load();
      for (const option of Object.keys(module.OPTIONS ?? {})) {
        const flag = module.NEGATABLE?.includes(option) ? `--no-${option}` : `--${option}`;
        lines.push(`${name} ${flag}`);
        wanted.push(flag);
      }
    }
    expect(lines.length).toBeGreaterThan(80);
    const answers = complete(exit.stdout, lines);
    for (const [i, flag] of wanted.entries()) expect(answers[i], lines[i]).toContain(flag);
  });

  it('sunset completion zsh is a zsh completion function with the same commands and flags', async () => {
    const exit = await runMain(['completion', 'zsh']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/^#compdef sunset\n/);
    expect(exit.stdout).toContain('compdef _sunset sunset');
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const module = await entry.load();
      const line = exit.stdout.split('\n').find((l) => l.startsWith(`    ('${name}') `));
      expect(line, name).toBeDefined();
      for (const option of Object.keys(module.OPTIONS ?? {})) expect(line, `${name} ${option}`).toContain(`'--${module.NEGATABLE?.includes(option) ? 'no-' : ''}${option}'`);
      for (const sub of module.SUBCOMMANDS ?? []) expect(line, `${name} ${sub}`).toContain(`'${sub}:`);
    }
    const zsh = spawnSync('zsh', ['-n'], { input: exit.stdout, encoding: 'utf8' });
    // Where zsh is installed, the script parses.
    if (zsh.error === undefined) expect(zsh.status, zsh.stderr).toBe(0);
  });

  it('an unknown or missing shell is a usage error', async () => {
    for (const args of [['completion'], ['completion', 'fish'], ['completion', 'bash', 'zsh']]) {
      const exit = await runMain(args);
      expect(exit.code, args.join(' ')).toBe(EXIT.usage);
      expect(exit.stdout).toBe('');
      expect(exit.stderr).toMatch(/^sunset: .*bash.*zsh/);
    }
  });
});

/**
 * A service on many connections, as `sunset serve` makes it when the database has connections:
 * the CLI's connection manager (src/cli/service-connections.ts) over a real connection store on the
 * test database, the service in-process (or on a loopback port with `socket: true`), the real
 * clock (the emulators run on real time), a test user, and its log kept.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createServiceConnections } from '../../src/cli/service-connections.js';
import { createConnectionStore, createJournal, createSecretBox, newSecretKey, type ConnectionStore, type EngineClock, type Journal } from '../../src/engine/index.js';
import { createLogger, createService, type NotificationOptions, type Service } from '../../src/service/index.js';
import { openTestDatabase } from './database.js';
import { tempDir } from './emulator.js';
import { IN_PROCESS_ORIGIN, inProcess, passwordHash, signIn, UI_DIR, USER, type SignedIn } from './service.js';

export interface ManagedService {
  service: Service;
  journal: Journal;
  /** The store the manager keeps the connections in (sealed with a key of this test's). */
  connections: ConnectionStore;
  origin: string;
  session: SignedIn;
  logs: string[];
  close(): Promise<void>;
}

export interface ManagedServiceOptions {
  /** Serve on a loopback port (a browser needs one); default: in-process. */
  socket?: boolean;
  /** The service's clock (default: the real one; the emulators run on real time either way). */
  clock?: EngineClock;
  /** E-mail and webhook notifications (its delivery loop off unless `intervalMs` says otherwise). */
  notifications?: NotificationOptions;
}

export async function startManagedService(options: ManagedServiceOptions = {}): Promise<ManagedService> {
  const dir = tempDir('sunset-managed-service-');
  const db = openTestDatabase(join(dir.path, 'sunset.db'));
  const journal = createJournal(db);
  await journal.migrate();
  const box = createSecretBox(newSecretKey());
  const connections = createConnectionStore(db, { box: () => box });
  await connections.migrate();
  const manager = await createServiceConnections({ store: connections, env: { SUNSET_HOME: join(dir.path, 'home') } });
  const logs: string[] = [];
  const service = createService({
    journal, database: db, connections: manager, owner: 'test-host:1:svc', isDead: () => false, uiDir: UI_DIR, webhookIntervalMs: 0, scheduleIntervalMs: 0,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.notifications ? { notifications: { intervalMs: 0, ...options.notifications } } : {}),
    logger: createLogger({ level: 'debug', destination: new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString('utf8')); done(); } }) }),
  });
  await service.store.migrate();
  await service.store.addUser(USER, await passwordHash(), (options.clock ?? { now: Date.now }).now());
  let origin = IN_PROCESS_ORIGIN;
  let session: SignedIn;
  if (options.socket) {
    origin = (await service.listen({ port: 0 })).origin;
    session = await signIn(origin);
  } else {
    await service.start();
    session = await signIn(origin, undefined, undefined, inProcess(service));
  }
  return {
    service, journal, connections, origin, session, logs,
    async close() {
      await service.close();
      await journal.close();
      dir.cleanup();
    },
  };
}

/**
 * The cluster's event relay, on Postgres's own LISTEN/NOTIFY: what a worker's job says (a run's
 * progress, a scan's end) reaches the event bus of every `sunset serve` on the database, so the UI
 * shows a run that another machine applies; and a person's Stop reaches the worker that holds the
 * run. Nothing here is durable: the journal is; a notice lost while a connection was down is a
 * progress line missed, and the pages read the journal again on the next event.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ServiceEvent } from './api-types.js';
import type { EventBus } from './events.js';
import { errorText, silentLogger, type ServiceLogger } from './logger.js';
import { queueLocation } from './work-queue.js';

/** Postgres refuses a NOTIFY payload of 8,000 bytes or more. */
const MAX_PAYLOAD = 7_900;

export interface ControlMessage {
  /** A person's Stop of a run being applied. */
  stop?: string;
  /** The database's connections changed (one added, tested or removed from a `serve`): read them again. */
  connections?: true;
}

export interface EventRelay {
  /** Starts listening; resolves once the first LISTEN is in place. */
  start(): Promise<void>;
  /** Sends a control message to every process on the database (this one too). */
  control(message: ControlMessage): Promise<void>;
  onControl(listener: (message: ControlMessage) => void): void;
  /** Whether an event on the bus came from another process (through the relay), not from this one. */
  relayed(event: ServiceEvent): boolean;
  close(): Promise<void>;
}

export interface EventRelayOptions {
  connectionString: string;
  bus: EventBus;
  logger?: ServiceLogger;
  /** Wait before reconnecting after the connection was lost (default 1 s, doubling to 15 s). */
  reconnectMs?: number;
}

export function createEventRelay(options: EventRelayOptions): EventRelay {
  const { bus } = options;
  // One pair of channels per Sunset database (its `?schema=`): two Sunsets on one server do not hear each other.
  const where = queueLocation(options.connectionString);
  const EVENTS = `sunset_events${where.suffix}`;
  const CONTROL = `sunset_control${where.suffix}`;
  const logger = options.logger ?? silentLogger;
  const origin = randomBytes(6).toString('hex');
  const relayed = new WeakSet<ServiceEvent>();
  const controlListeners: Array<(message: ControlMessage) => void> = [];
  let listener: pg.Client | undefined;
  let closed = false;
  let retryMs = options.reconnectMs ?? 1_000;
  let reconnecting: NodeJS.Timeout | undefined;
  // NOTIFY goes through a small pool of its own: a LISTEN connection must not also send.
  const pool = new pg.Pool({ connectionString: where.connectionString, max: 2, application_name: 'sunset-relay' });
  pool.on('error', () => undefined);

  const notify = async (channel: string, payload: string): Promise<void> => {
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
      logger.debug({ channel, bytes: Buffer.byteLength(payload) }, 'an event too large to relay was left to the journal');
      return;
    }
    await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  };

  const onNotification = (message: pg.Notification): void => {
    let parsed: { o?: string; e?: ServiceEvent; c?: ControlMessage };
    try {
      parsed = JSON.parse(message.payload ?? '') as typeof parsed;
    } catch {
      return;
    }
    if (message.channel === CONTROL && parsed.c) {
      for (const l of controlListeners) l(parsed.c);
      return;
    }
    if (message.channel === EVENTS && parsed.e && parsed.o !== origin) {
      relayed.add(parsed.e);
      bus.emit(parsed.e);
    }
  };

  const connect = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: where.connectionString, application_name: 'sunset-relay-listen' });
    client.on('notification', onNotification);
    client.on('error', (error) => {
      logger.warn({ error: errorText(error) }, 'the event relay lost its database connection; reconnecting');
      scheduleReconnect();
    });
    client.on('end', () => scheduleReconnect());
    await client.connect();
    await client.query(`LISTEN ${EVENTS}`);
    await client.query(`LISTEN ${CONTROL}`);
    listener = client;
    retryMs = options.reconnectMs ?? 1_000;
  };

  const scheduleReconnect = (): void => {
    if (closed || reconnecting) return;
    const old = listener;
    listener = undefined;
    old?.removeAllListeners();
    old?.on('error', () => undefined);
    void old?.end().catch(() => undefined);
    reconnecting = setTimeout(() => {
      reconnecting = undefined;
      connect().catch((error: unknown) => {
        logger.debug({ error: errorText(error) }, 'the event relay could not reconnect yet');
        retryMs = Math.min(retryMs * 2, 15_000);
        scheduleReconnect();
      });
    }, retryMs);
    reconnecting.unref();
  };

  const unsubscribe = bus.subscribe((event) => {
    if (relayed.has(event) || closed) return;
    void notify(EVENTS, JSON.stringify({ o: origin, e: event })).catch((error: unknown) => logger.debug({ error: errorText(error) }, 'an event was not relayed'));
  });

  return {
    async start() {
      await connect();
    },
    async control(message) {
      await notify(CONTROL, JSON.stringify({ o: origin, c: message }));
    },
    onControl(l) {
      controlListeners.push(l);
    },
    relayed: (event) => relayed.has(event),
    async close() {
      closed = true;
      unsubscribe();
      if (reconnecting) clearTimeout(reconnecting);
      const client = listener;
      listener = undefined;
      client?.removeAllListeners();
      client?.on('error', () => undefined);
      await client?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}

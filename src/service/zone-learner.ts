/**
 * Learning the organizations' time zones from Zoho's organization list (`time_zone` in
 * `GET /organizations`): saved as they arrive, so the scheduler and `sunset schedules` read them
 * without calling Zoho. A serve lists the organizations for its pages and saves their zones as it
 * goes; both a serve and a worker also list them when a due schedule's zone is not known yet (a
 * schedule saved before zones were kept), so a cluster of workers alone learns them too.
 */
import type { EngineClock } from '../engine/index.js';
import { errorText, type ServiceLogger } from './logger.js';
import type { ServiceStore } from './store.js';
import { resolveTimeZone } from './time-zone.js';

/** How often at most `learn` lists the organizations. */
const LEARN_EVERY_MS = 300_000;

export interface ZoneLearner {
  /** Saves the zones of a list just fetched; a new or changed zone is logged (a warning when Sunset cannot read it). */
  save(list: ReadonlyArray<{ organizationId: string; timeZone?: string }>): Promise<void>;
  /** Lists the organizations in the background to save their zones: at most once in 5 minutes; a failure is logged. */
  learn(): void;
  /** Resolves once a `learn` in progress has ended (a process waits for it before it closes). */
  settled(): Promise<void>;
}

export interface ZoneLearnerOptions {
  /** The organizations the process's connections reach, as Zoho lists them now. */
  list(): Promise<ReadonlyArray<{ organizationId: string; timeZone?: string }>>;
  store: Pick<ServiceStore, 'saveTimeZones'>;
  clock: EngineClock;
  logger: ServiceLogger;
}

export function createZoneLearner(options: ZoneLearnerOptions): ZoneLearner {
  const { store, clock, logger } = options;
  let learning: Promise<void> | undefined;
  let learnedAt = -Infinity;
  const save = async (list: ReadonlyArray<{ organizationId: string; timeZone?: string }>): Promise<void> => {
    const zones = list.flatMap((o) => (typeof o.timeZone === 'string' && o.timeZone.trim() !== '' ? [{ organizationId: o.organizationId, timeZone: o.timeZone }] : []));
    for (const organizationId of await store.saveTimeZones(zones, clock.now())) {
      const zone = resolveTimeZone(zones.find((z) => z.organizationId === organizationId)?.timeZone);
      if (zone.problem) logger.warn({ organizationId, timeZone: zone.zoho }, zone.problem);
      else logger.info({ organizationId, timeZone: zone.zone, zoho: zone.zoho }, 'organization time zone: schedules run in it');
    }
  };
  return {
    save,
    learn() {
      if (learning || clock.now() - learnedAt < LEARN_EVERY_MS) return;
      learnedAt = clock.now();
      learning = options.list().then(save).catch(
        (error: unknown) => logger.warn({ error: errorText(error) }, 'could not list the organizations to learn their time zones: schedules without one run in UTC'),
      ).finally(() => {
        learning = undefined;
      });
    },
    async settled() {
      await learning;
    },
  };
}

export { createService } from './server.js';
export type { Service, ServiceOptions, ServiceConnection } from './server.js';
export { createServiceStore } from './store.js';
export type { ServiceStore, OrgSettings, WebhookEvent, WebhookMapping } from './store.js';
export { hashPassword, verifyPassword, passwordProblem } from './passwords.js';
export { parseCron, nextRun, CronError } from './cron.js';
export { acceptWebhook, parsePayload, actionFor, WEBHOOK_TOLERANCE_MS } from './webhooks.js';
export { parseMappingFile, fileMappingFor, MappingFileError } from './mapping-file.js';
export type { MappingFile } from './mapping-file.js';

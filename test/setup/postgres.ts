/** The postgres project's setup (vitest.config.ts): each test file's schemas are dropped when it ends. */
import { afterAll } from 'vitest';
import { dropTestSchemas } from '../helpers/database.js';

afterAll(async () => {
  await dropTestSchemas();
});

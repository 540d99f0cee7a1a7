/**
 * The service's logger (pino): levels, one JSON object a line, a readable line for a terminal, and
 * secrets redacted by the logger itself whatever field a caller puts them in.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from '../../src/service/index.js';

function capture(options: LoggerOptions = {}): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { lines, logger: createLogger({ ...options, destination }) };
}

describe('the service logger', () => {
  it('writes one JSON object a line with an ISO time, the level and the fields', () => {
    const { lines, logger } = capture();
    logger.info({ runId: 'run-1', organizationId: '701000001' }, 'run resumed');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, runId: 'run-1', organizationId: '701000001', msg: 'run resumed' });
    expect(String(line.time)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('keeps to its level (LOG_LEVEL): debug lines only at debug, nothing at silent', () => {
    const info = capture({ level: 'info' });
    info.logger.debug({}, 'detail');
    info.logger.warn({}, 'warning');
    expect(info.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['warning']);
    const debug = capture({ level: 'debug' });
    debug.logger.debug({}, 'detail');
    expect(debug.lines).toHaveLength(1);
    const silent = capture({ level: 'silent' });
    silent.logger.error({}, 'failure');
    expect(silent.lines).toEqual([]);
  });

  it('redacts secrets in any field a caller uses, at the top level and one level down', () => {
    const { lines, logger } = capture();
    const secrets = ['tok-aaaaaaaa', 'sec-bbbbbbbb', 'pass-cccccc', 'Bearer ddddddd', 'sunset_session=eeeeeee', 'csrf-ffffff', 'refresh-gggggg', 'hook-hhhhhh'];
    logger.warn({
      token: secrets[0], secret: secrets[1], password: secrets[2], authorization: secrets[3], cookie: secrets[4], csrfToken: secrets[5],
      credentials: { refreshToken: secrets[6], clientSecret: secrets[1] }, headers: { 'x-sunset-secret': secrets[7], authorization: secrets[3] },
      runId: 'run-7',
    }, 'something to look at');
    expect(lines).toHaveLength(1);
    for (const secret of secrets) expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain('[redacted]');
    expect(JSON.parse(lines[0]!)).toMatchObject({ runId: 'run-7', credentials: { refreshToken: '[redacted]' }, headers: { authorization: '[redacted]' } });
  });

  it('on a terminal, a readable line: the message and the fields, no JSON braces, no colour unless asked', () => {
    const plain = capture({ pretty: true, color: false });
    plain.logger.info({ runId: 'run-1', secret: 'sec-zzzzzz' }, 'run resumed');
    const text = plain.lines.join('\n');
    expect(text).toMatch(/INFO.*run resumed/);
    expect(text).toContain('runId: "run-1"');
    expect(text).not.toContain('sec-zzzzzz');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/\u001b\[/);
    const coloured = capture({ pretty: true, color: true });
    coloured.logger.info({}, 'run resumed');
    // eslint-disable-next-line no-control-regex
    expect(coloured.lines.join('\n')).toMatch(/\u001b\[/);
  });
});

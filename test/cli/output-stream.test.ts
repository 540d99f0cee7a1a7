/**
 * `sunset plan --json` writes its document to stdout page by page (writeStreamChunks): each piece
 * waits while the stream asks it to, so a slow reader (a pipe into `less`, a slow disk) does not make
 * the process hold the whole document in the stream's buffer.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeStreamChunks } from '../../src/cli/output-file.js';

describe('writeStreamChunks', () => {
  it('waits for a slow stream between pieces: at most one piece beyond its mark is ever buffered, and every byte arrives in order', async () => {
    let received = '';
    const slow = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.toString();
        setTimeout(callback, 1);
      },
    });
    const piece = (i: number): string => `${String(i).padStart(4, '0')}${'x'.repeat(96)}`;
    let mostBuffered = 0;
    async function* pieces(): AsyncGenerator<string> {
      for (let i = 0; i < 60; i++) {
        mostBuffered = Math.max(mostBuffered, slow.writableLength);
        yield piece(i);
      }
    }
    await writeStreamChunks(slow, pieces());
    await new Promise<void>((resolve) => slow.end(resolve));
    expect(received).toBe(Array.from({ length: 60 }, (_, i) => piece(i)).join(''));
    // Without waiting for 'drain', all 60 pieces (6,000 bytes) would pile up in the buffer at once.
    expect(mostBuffered).toBeLessThanOrEqual(100);
  });

  it('a stream that keeps up is written straight through', async () => {
    let received = '';
    const fast = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.toString();
        callback();
      },
    });
    async function* pieces(): AsyncGenerator<string> {
      yield '{"a":';
      yield '1}';
    }
    await writeStreamChunks(fast, pieces());
    expect(received).toBe('{"a":1}');
  });
});

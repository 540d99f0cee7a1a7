/** Reports, exports and policies written to files the user names. */
import { once } from 'node:events';
import { closeSync, constants as fsConstants, fchmodSync, fstatSync, ftruncateSync, openSync, writeFileSync } from 'node:fs';
import { ExitError } from './exit-codes.js';

/**
 * Writes a report, an export or a policy owner-only (0600), like the journal: reports and audit
 * exports hold customer names and amounts. A new file is created 0600 from its first byte; an
 * existing one is made 0600 before it is emptied and the new content goes in, so if that is not
 * allowed (another user's file) the old content stays as it was. Something that is not a regular
 * file (/dev/stdout, a pipe) is written as it is.
 */
export function writeOutput(path: string, content: string): void {
  const fd = openOutput(path);
  try {
    write(fd, path, content);
  } finally {
    closeSync(fd);
  }
}

/**
 * `writeOutput` for a document made in pieces (a plan's CSV, page by page from the journal): each
 * piece is written as it comes, so the document is never whole in memory. A piece that cannot be
 * made (the journal failed) ends the writing with that error; what was written stays.
 */
export async function writeOutputChunks(path: string, chunks: AsyncIterable<string>): Promise<void> {
  const fd = openOutput(path);
  try {
    for await (const chunk of chunks) write(fd, path, chunk);
  } finally {
    closeSync(fd);
  }
}

/**
 * A document made in pieces, to a stream (stdout): each piece is written as it comes, and the next
 * waits while the stream asks it to (a slow pipe), so the document is never whole in memory.
 */
export async function writeStreamChunks(stream: NodeJS.WritableStream, chunks: AsyncIterable<string>): Promise<void> {
  for await (const chunk of chunks) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
}

const codeOf = (error: unknown): string => (error as { code?: string }).code ?? String(error);

/** Opens `path` for writing, owner-only and emptied (see writeOutput); an ExitError if it cannot be. */
function openOutput(path: string): number {
  let fd: number;
  try {
    // No O_TRUNC: an existing file keeps its content until it is owner-only.
    fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT, 0o600);
  } catch (error) {
    throw new ExitError(`Cannot write ${path}: ${codeOf(error)}`);
  }
  try {
    if (fstatSync(fd).isFile()) {
      try {
        fchmodSync(fd, 0o600);
      } catch (error) {
        throw new ExitError(`Cannot write ${path}: it cannot be made readable by its owner only (${codeOf(error)}), and it would hold customer names and amounts. Write to a file of your own.`);
      }
      ftruncateSync(fd, 0);
    }
    return fd;
  } catch (error) {
    closeSync(fd);
    if (error instanceof ExitError) throw error;
    throw new ExitError(`Cannot write ${path}: ${codeOf(error)}`);
  }
}

function write(fd: number, path: string, content: string): void {
  try {
    writeFileSync(fd, content);
  } catch (error) {
    throw new ExitError(`Cannot write ${path}: ${codeOf(error)}`);
  }
}

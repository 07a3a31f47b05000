import type { IncomingMessage } from 'node:http';
import type { NotifyRejectReason } from './notify.types';

/** An Express request as it may reach the notify route, whatever parsers the host configured. */
export interface NotifyRequest extends IncomingMessage {
  /** Set by Nest when the app was created with `rawBody: true` and a body parser read the body. */
  rawBody?: Buffer;
  /** Whatever a body parser produced: a string or Buffer from a text/raw parser, an object from JSON. */
  body?: unknown;
}

export type NotifyBody =
  | { ok: true; body: Buffer | string }
  | { ok: false; reason: Extract<NotifyRejectReason, 'BODY_TOO_LARGE' | 'UNSUPPORTED_BODY'> };

/**
 * Gets the notification body as the bytes WeChat sent, whether or not the host enabled `rawBody`
 * and whichever body parsers ran before the route: Nest's raw body first, then the unread request
 * stream, then a string or Buffer left by a text/raw parser. A body already turned into an object
 * (JSON, urlencoded) cannot be verified and is refused.
 */
export async function readNotifyBody(req: NotifyRequest, maxBytes: number): Promise<NotifyBody> {
  if (Buffer.isBuffer(req.rawBody)) return { ok: true, body: req.rawBody };
  if (!req.readableEnded && !req.readableDidRead) {
    const body = await readLimited(req, maxBytes);
    return body === undefined ? { ok: false, reason: 'BODY_TOO_LARGE' } : { ok: true, body };
  }
  if (typeof req.body === 'string' || Buffer.isBuffer(req.body))
    return { ok: true, body: req.body };
  return { ok: false, reason: 'UNSUPPORTED_BODY' };
}

/**
 * Reads the whole request, keeping at most `maxBytes`. Past the limit (declared by Content-Length or
 * found while reading) it stops buffering but keeps draining, so the sender can finish writing and
 * receives the FAIL reply instead of a reset connection; the server's request timeout bounds how
 * long a sender can keep that going. Resolves undefined when the body was too large.
 */
function readLimited(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    let tooLarge = Number.isFinite(declared) && declared > maxBytes;
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks, size)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('the request closed before its body was complete'));
    });
  });
}

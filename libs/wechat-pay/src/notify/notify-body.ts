import type { IncomingMessage } from 'node:http';
import { WechatPayNotifyError } from '../errors/errors';
import type { NotifyRejectReason } from './notify.types';

/** What reading a notification body gave: its bytes, or why there are none to verify. */
export type NotifyBody =
  | { ok: true; body: Buffer | string }
  | { ok: false; reason: Extract<NotifyRejectReason, 'BODY_TOO_LARGE' | 'UNSUPPORTED_BODY'> };

/**
 * The request fields the notify route looks at: Node's own request, plus what a body parser that
 * ignored the content type may have left on it.
 */
export interface NotifyRequest extends IncomingMessage {
  rawBody?: Buffer;
  body?: unknown;
}

/**
 * Gets the notification body as the bytes WeChat sent. The route's adapter setup keeps the host's
 * body parsers off it, so the stream is normally unread and is read here with the library's own
 * limit. If a parser that matches every content type read it anyway, its raw bytes or text are
 * used; a body already turned into an object cannot be verified and is refused.
 */
export async function readNotifyBody(req: NotifyRequest, maxBytes: number): Promise<NotifyBody> {
  if (!req.readableEnded && !req.readableDidRead) {
    const body = await readLimited(req, maxBytes);
    return body === undefined ? { ok: false, reason: 'BODY_TOO_LARGE' } : { ok: true, body };
  }
  if (Buffer.isBuffer(req.rawBody)) return tooLarge(req.rawBody, maxBytes);
  if (typeof req.body === 'string' || Buffer.isBuffer(req.body))
    return tooLarge(req.body, maxBytes);
  return { ok: false, reason: 'UNSUPPORTED_BODY' };
}

function tooLarge(body: Buffer | string, maxBytes: number): NotifyBody {
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  return size > maxBytes ? { ok: false, reason: 'BODY_TOO_LARGE' } : { ok: true, body };
}

/**
 * Reads the whole request, keeping at most `maxBytes`. Past the limit (declared by Content-Length or
 * found while reading) it stops buffering but keeps draining, so the sender can finish writing and
 * receives the FAIL reply instead of a reset connection; the server's request timeout bounds how
 * long a sender can keep that going. Resolves undefined when the body was too large.
 */
export function readLimited(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
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
    req.once('error', () =>
      reject(
        new WechatPayNotifyError('INCOMPLETE_BODY', 'the request failed while its body was read'),
      ),
    );
    req.once('close', () => {
      if (!req.complete) {
        reject(
          new WechatPayNotifyError(
            'INCOMPLETE_BODY',
            'the request closed before its body was complete',
          ),
        );
      }
    });
  });
}

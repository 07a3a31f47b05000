import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  WechatPayError,
  WechatPayProtocolError,
  WechatPayReturnError,
  WechatPayTransportError,
  WechatPayXmlError,
} from '../errors/errors';
import { parseXml } from '../xml/xml-codec';
import type { BillFields } from '../gateway/request-validation';
import type { TransportStream } from '../gateway/transport';
import type { NoBill } from './bill.types';

/**
 * What a downloadbill answer is, told from its first bytes, as the official SDK does: a gzip
 * body (whatever tar_type asked for) is unpacked first; then a body starting with `<` is an XML
 * error, anything else the bill itself. Only the error body is read whole (and capped at
 * maxBodyBytes); the bill is handed on as a stream of bytes.
 */

export interface BillBodyOptions {
  /** Cap on an XML error body. */
  maxBodyBytes: number;
  /** How long to wait for the next chunk while the reader is waiting for one. */
  idleTimeoutMs: number;
  /** `host/path`, for messages. */
  label: string;
}

export type BillBody =
  { kind: 'bill'; bytes: AsyncIterable<Buffer> } | { kind: 'none'; bill: NoBill };

const GZIP_MAGIC = [0x1f, 0x8b];
const NO_BILL = /^no bill exist$/i;
/** downloadbill's "try again later" answers: not generated yet, or a failure on WeChat's side. */
const RETRY_LATER = /^(bill creating|systemerror|compressgzip error|uncompressgzip error)$/i;

/**
 * Reads the response one chunk at a time, waiting at most `ms` for each while asked for one. A
 * stall destroys the response: a pending read of a stalled stream would otherwise never settle.
 */
async function* idleTimeout(
  source: TransportStream['body'],
  ms: number,
  label: string,
): AsyncGenerator<Buffer, void, undefined> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new WechatPayTransportError(
                'READ_TIMEOUT',
                `POST ${label} failed: no data for ${ms} ms while the bill was read`,
              ),
            ),
          ms,
        );
      });
      let next: IteratorResult<Buffer>;
      try {
        next = await Promise.race([iterator.next(), timeout]);
      } catch (error) {
        source.destroy();
        throw asBillError(error, label);
      } finally {
        clearTimeout(timer);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** The library's own errors pass; a broken connection or a corrupt gzip body is named. */
function asBillError(error: unknown, label: string): unknown {
  if (error instanceof WechatPayError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code ?? '';
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_BINDING_CLOSED') {
    return new WechatPayProtocolError(`${label}: the gzip body is corrupt (${code})`, '');
  }
  return new WechatPayTransportError(
    'NETWORK',
    `POST ${label} failed: ${code || 'connection lost'} while the bill was read`,
  );
}

/** An iterator that can look at its first bytes and then yields everything from the start. */
class Peekable {
  private readonly head: Buffer[] = [];
  private readonly iterator: AsyncIterator<Buffer>;
  private done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Whether the source ended while peeking. */
  get exhausted(): boolean {
    return this.done;
  }

  /** At least `count` bytes (fewer only at the end of the stream). */
  async peek(count: number): Promise<Buffer> {
    let size = this.head.reduce((sum, chunk) => sum + chunk.length, 0);
    while (size < count && !this.done) {
      const next = await this.iterator.next();
      if (next.done) this.done = true;
      else {
        this.head.push(next.value);
        size += next.value.length;
      }
    }
    return Buffer.concat(this.head);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    try {
      while (this.head.length > 0) yield this.head.shift() as Buffer;
      while (!this.done) {
        const next = await this.iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await this.iterator.return?.();
    }
  }
}

function gunzip(source: AsyncIterable<Buffer>, label: string): AsyncIterable<Buffer> {
  const unpacked = pipeline(Readable.from(source, { objectMode: false }), createGunzip(), () => {
    // Errors reach the reader through the last stream; nothing to do here.
  });
  return (async function* () {
    try {
      for await (const chunk of unpacked) yield chunk as Buffer;
    } catch (error) {
      throw asBillError(error, label);
    } finally {
      unpacked.destroy();
    }
  })();
}

/** The first byte that is not a BOM or whitespace, or undefined if there is none yet. */
function firstSignificant(bytes: Buffer): number | undefined {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || (bytes[i] >= 0x09 && bytes[i] <= 0x0d))) i += 1;
  return i < bytes.length ? bytes[i] : undefined;
}

async function readCapped(
  source: AsyncIterable<Buffer>,
  max: number,
  label: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > max) {
      throw new WechatPayTransportError(
        'TOO_LARGE',
        `${label} answered an error body over ${max} bytes`,
        {
          retryable: false,
        },
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** The XML answer of a downloadbill that has no bill to give. */
export async function billErrorAnswer(
  body: Buffer,
  request: BillFields,
  options: Pick<BillBodyOptions, 'maxBodyBytes' | 'label'>,
): Promise<NoBill> {
  const text = body.toString('utf8');
  let fields: Record<string, string>;
  try {
    fields = await parseXml(body, { maxBytes: options.maxBodyBytes });
  } catch (error) {
    if (!(error instanceof WechatPayXmlError)) throw error;
    throw new WechatPayProtocolError(
      `${options.label} answer starts like XML but is not a WeChat Pay document (${error.reason})`,
      text,
    );
  }
  const returnMsg = (fields.return_msg ?? '').trim();
  const errorCode = fields.error_code || undefined;
  if (fields.return_code !== 'FAIL') {
    throw new WechatPayProtocolError(
      `${options.label} answered XML that is not a FAIL answer`,
      text,
    );
  }
  if (NO_BILL.test(returnMsg)) {
    return {
      found: false,
      billDate: request.bill_date,
      billType: request.bill_type,
      returnMsg,
      ...(errorCode !== undefined ? { errorCode } : {}),
    };
  }
  throw new WechatPayReturnError(returnMsg, text, {
    retryable: RETRY_LATER.test(returnMsg),
    ...(errorCode !== undefined ? { errorCode } : {}),
  });
}

/** Classifies a downloadbill response and hands the bill on as bytes, gunzipped if need be. */
export async function openBillBody(
  response: TransportStream,
  request: BillFields,
  options: BillBodyOptions,
): Promise<BillBody> {
  const raw = idleTimeout(response.body, options.idleTimeoutMs, options.label);
  if (response.status !== 200) {
    const body = await readCapped(raw, options.maxBodyBytes, options.label);
    throw new WechatPayTransportError(
      'HTTP_STATUS',
      `${options.label} answered HTTP ${response.status}`,
      {
        retryable: response.status >= 500,
        status: response.status,
        rawBody: body.toString('utf8'),
      },
    );
  }
  const wire = new Peekable(raw);
  const magic = await wire.peek(2);
  const text = new Peekable(
    magic[0] === GZIP_MAGIC[0] && magic[1] === GZIP_MAGIC[1] ? gunzip(wire, options.label) : wire,
  );
  let wanted = 64;
  let start = await text.peek(wanted);
  while (
    firstSignificant(start) === undefined &&
    !text.exhausted &&
    wanted < options.maxBodyBytes
  ) {
    wanted *= 2;
    start = await text.peek(wanted);
  }
  if (firstSignificant(start) === 0x3c) {
    const body = await readCapped(text, options.maxBodyBytes, options.label);
    return { kind: 'none', bill: await billErrorAnswer(body, request, options) };
  }
  return { kind: 'bill', bytes: text };
}

import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { WechatPayConfig } from '../config/wechat-pay.options';
import { WechatPayTransportError, type TransportFailure } from '../errors/errors';

/** What came back over HTTP. The transport does not interpret the status. */
export interface TransportResponse {
  status: number;
  body: Buffer;
}

export interface TransportRequestOptions {
  /** Overrides the configured read timeout for this call. */
  readTimeoutMs?: number;
}

interface Target {
  url: URL;
  /** `host/path`, never the query string: the login URL carries the app secret. */
  label: string;
}

/**
 * The only place that speaks HTTP. One keep-alive pool per protocol, a connect timeout (socket
 * created until connected, the TLS handshake included; a reused socket is already connected) and
 * a read timeout (connected until the whole response has arrived), and a cap on the response size.
 *
 * It never retries: whether repeating a call is safe depends on the call (a login code is
 * single-use, an order must be retried with the same out_trade_no), so the caller decides from
 * `error.retryable`.
 */
@Injectable()
export class WechatPayTransport implements OnModuleDestroy {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly config: WechatPayConfig) {
    const poolOptions = { keepAlive: true, maxSockets: config.maxSockets };
    this.httpAgent = new http.Agent(poolOptions);
    this.httpsAgent = new https.Agent(poolOptions);
  }

  postXml(
    url: string,
    body: string,
    options: TransportRequestOptions = {},
  ): Promise<TransportResponse> {
    const payload = Buffer.from(body, 'utf8');
    return this.send(
      'POST',
      url,
      {
        'Content-Type': 'text/xml; charset=utf-8',
        'Content-Length': String(payload.length),
      },
      payload,
      options,
    );
  }

  get(url: string, options: TransportRequestOptions = {}): Promise<TransportResponse> {
    return this.send('GET', url, {}, undefined, options);
  }

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private send(
    method: 'GET' | 'POST',
    rawUrl: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    options: TransportRequestOptions,
  ): Promise<TransportResponse> {
    const readTimeoutMs = options.readTimeoutMs ?? this.config.readTimeoutMs;
    const maxBytes = this.config.maxBodyBytes;

    return new Promise<TransportResponse>((resolve, reject) => {
      // Thrown here, a bad URL becomes a rejection like every other failure.
      const { url, label } = parseTarget(rawUrl);
      const secure = url.protocol === 'https:';
      let settled = false;
      let timer: NodeJS.Timeout | undefined;

      const request = (secure ? https : http).request(url, {
        method,
        agent: secure ? this.httpsAgent : this.httpAgent,
        headers: { Accept: '*/*', ...headers },
      });

      const fail = (failure: TransportFailure, detail: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(
          new WechatPayTransportError(failure, `${method} ${label} failed: ${detail}`, {
            retryable: failure !== 'TOO_LARGE',
          }),
        );
        request.destroy();
      };

      const startReading = (): void => {
        clearTimeout(timer);
        timer = setTimeout(
          () => fail('READ_TIMEOUT', `no complete response within ${readTimeoutMs} ms`),
          readTimeoutMs,
        );
      };

      request.on('socket', (socket: Socket) => {
        if (request.reusedSocket || isConnected(socket, secure)) {
          startReading();
          return;
        }
        const connectTimeoutMs = this.config.connectTimeoutMs;
        timer = setTimeout(
          () => fail('CONNECT_TIMEOUT', `not connected within ${connectTimeoutMs} ms`),
          connectTimeoutMs,
        );
        socket.once(secure ? 'secureConnect' : 'connect', startReading);
      });

      // Node's own messages name the address and port at most; the code alone is enough to act on.
      request.on('error', (error: NodeJS.ErrnoException) =>
        fail('NETWORK', error.code ?? 'connection error'),
      );

      request.on('response', (response) => {
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          fail('TOO_LARGE', `response declares ${declared} bytes, over the ${maxBytes}-byte limit`);
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxBytes) {
            fail('TOO_LARGE', `response exceeds the ${maxBytes}-byte limit`);
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', (error: NodeJS.ErrnoException) =>
          fail('NETWORK', error.code ?? 'response interrupted'),
        );
        response.on('close', () => {
          if (!response.complete) fail('NETWORK', 'connection closed before the response ended');
        });
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks, received) });
        });
      });

      request.end(payload);
    });
  }
}

function parseTarget(rawUrl: string): Target {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    // URL's own error repeats the input, query string and all.
    throw new WechatPayTransportError('NETWORK', 'request URL is not a valid absolute URL', {
      retryable: false,
    });
  }
  const label = `${url.host}${url.pathname}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WechatPayTransportError('NETWORK', `${label}: only http and https are supported`, {
      retryable: false,
    });
  }
  return { url, label };
}

/** A plain socket is ready once TCP is up; a TLS socket only after its handshake, which a fresh one has not done yet. */
function isConnected(socket: Socket, secure: boolean): boolean {
  return !secure && !socket.pending;
}

import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { daysUntilExpiry, legacyConversionCommands } from '../config/certificate';
import { tlsContextsOf } from '../config/secrets';
import { WechatPayConfig } from '../config/wechat-pay.options';
import {
  WechatPayConfigError,
  WechatPayTransportError,
  type TransportFailure,
} from '../errors/errors';

/** What came back over HTTP. The transport does not interpret the status. */
export interface TransportResponse {
  status: number;
  body: Buffer;
}

/** A response whose body is read by the caller, as it arrives (bills). */
export interface TransportStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

export interface TransportRequestOptions {
  /** Overrides the configured read timeout for this call. */
  readTimeoutMs?: number;
  /**
   * Sends the request through the agent that presents the merchant certificate (the `/secapi/`
   * endpoints). Refused before sending when no certificate is configured.
   */
  clientCertificate?: boolean;
}

/** Node's error codes for a TLS handshake or certificate failure: retrying does not change them. */
const TLS_ERROR =
  /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

const DAY_MS = 86_400_000;

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
 * The certificate endpoints have a keep-alive pool of their own whose every socket is opened with
 * the merchant certificate: a reused socket is the same TLS session that presented it, and no
 * socket of the other pool (opened without it) can ever carry a refund. Pooled clients that mix
 * both in one pool have sent refunds without the certificate.
 *
 * It never retries: whether repeating a call is safe depends on the call (a login code is
 * single-use, an order must be retried with the same out_trade_no), so the caller decides from
 * `error.retryable`.
 */
@Injectable()
export class WechatPayTransport implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('WechatPayTransport');
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly certificateAgent?: https.Agent;
  private expiryTimer?: NodeJS.Timeout;

  constructor(private readonly config: WechatPayConfig) {
    const poolOptions = { keepAlive: true, maxSockets: config.maxSockets };
    const contexts = tlsContextsOf(config);
    this.httpAgent = new http.Agent(poolOptions);
    this.httpsAgent = new https.Agent({
      ...poolOptions,
      ...(contexts.ca !== undefined ? { secureContext: contexts.ca } : {}),
    });
    if (contexts.certificate !== undefined) {
      this.certificateAgent = new https.Agent({
        ...poolOptions,
        secureContext: contexts.certificate,
      });
    }
  }

  /** Logs the certificate at start-up, and warns daily once it is close to expiry. */
  onModuleInit(): void {
    const certificate = this.config.certificate;
    if (certificate === undefined) return;
    if (certificate.legacyEncryption) {
      this.logger.warn(
        'the merchant p12 uses RC2-40/3DES encryption, which OpenSSL 3 (Node 17+) refuses; it was ' +
          'read with node-forge. To use a file every OpenSSL reads, convert it (each command asks ' +
          `for the passphrase, the mch_id): ${legacyConversionCommands(certificate.file)}, then ` +
          'set certPem and keyPem',
      );
    }
    this.checkExpiry();
    this.expiryTimer = setInterval(() => this.checkExpiry(), DAY_MS);
    this.expiryTimer.unref();
  }

  /** Warns when the certificate expires within certExpiryWarningDays; returns the days left. */
  checkExpiry(now: Date = new Date()): number | undefined {
    const certificate = this.config.certificate;
    if (certificate === undefined) return undefined;
    const days = daysUntilExpiry(certificate, now);
    const what = `the merchant certificate (serial ${certificate.serialNumber})`;
    if (certificate.validTo.getTime() <= now.getTime()) {
      this.logger.error(
        `${what} expired on ${certificate.validTo.toISOString()}: refunds fail until a new one is installed`,
      );
    } else if (days < this.config.certExpiryWarningDays) {
      this.logger.warn(
        `${what} expires on ${certificate.validTo.toISOString()}, in ${days} day(s): download a new ` +
          'one from the merchant platform (Account Center > API Security) and restart with it',
      );
    } else {
      this.logger.log(`${what} is valid until ${certificate.validTo.toISOString()}`);
    }
    return days;
  }

  postXml(
    url: string,
    body: string,
    options: TransportRequestOptions = {},
  ): Promise<TransportResponse> {
    const payload = Buffer.from(body, 'utf8');
    return this.send('POST', url, xmlHeaders(payload), payload, options, 'buffer');
  }

  /**
   * Posts XML and resolves as soon as the response headers arrived, with the body unread: for
   * bills, which are read as they stream and are not subject to maxBodyBytes. The read timeout
   * runs until the headers; reading the body (and its timeouts) is the caller's.
   */
  postXmlStream(
    url: string,
    body: string,
    options: TransportRequestOptions = {},
  ): Promise<TransportStream> {
    const payload = Buffer.from(body, 'utf8');
    return this.send('POST', url, xmlHeaders(payload), payload, options, 'stream');
  }

  get(url: string, options: TransportRequestOptions = {}): Promise<TransportResponse> {
    return this.send('GET', url, {}, undefined, options, 'buffer');
  }

  onModuleDestroy(): void {
    clearInterval(this.expiryTimer);
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.certificateAgent?.destroy();
  }

  private agentFor(secure: boolean, options: TransportRequestOptions, label: string): http.Agent {
    if (!options.clientCertificate) return secure ? this.httpsAgent : this.httpAgent;
    if (this.certificateAgent === undefined) {
      throw new WechatPayConfigError([
        {
          field: 'certP12',
          problems: [
            `${label} needs the merchant API certificate: set certP12 (apiclient_cert.p12) or certPem and keyPem`,
          ],
        },
      ]);
    }
    if (!secure) {
      throw new WechatPayTransportError('TLS', `${label}: the certificate needs an https URL`, {
        retryable: false,
      });
    }
    return this.certificateAgent;
  }

  private send(
    method: 'GET' | 'POST',
    rawUrl: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    options: TransportRequestOptions,
    mode: 'buffer',
  ): Promise<TransportResponse>;
  private send(
    method: 'GET' | 'POST',
    rawUrl: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    options: TransportRequestOptions,
    mode: 'stream',
  ): Promise<TransportStream>;
  private send(
    method: 'GET' | 'POST',
    rawUrl: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    options: TransportRequestOptions,
    mode: 'buffer' | 'stream',
  ): Promise<TransportResponse | TransportStream> {
    const readTimeoutMs = options.readTimeoutMs ?? this.config.readTimeoutMs;
    const maxBytes = this.config.maxBodyBytes;

    return new Promise<TransportResponse | TransportStream>((resolve, reject) => {
      // Thrown here, a bad URL or a missing certificate becomes a rejection like every other failure.
      const { url, label } = parseTarget(rawUrl);
      const secure = url.protocol === 'https:';
      const agent = this.agentFor(secure, options, label);
      let settled = false;
      let timer: NodeJS.Timeout | undefined;

      const request = (secure ? https : http).request(url, {
        method,
        agent,
        headers: { Accept: '*/*', ...headers },
      });

      const fail = (failure: TransportFailure, detail: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(
          new WechatPayTransportError(failure, `${method} ${label} failed: ${detail}`, {
            retryable: failure !== 'TOO_LARGE' && failure !== 'TLS',
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
      request.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? 'connection error';
        fail(TLS_ERROR.test(code) ? 'TLS' : 'NETWORK', code);
      });

      request.on('response', (response) => {
        if (mode === 'stream') {
          settled = true;
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response });
          return;
        }
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

function xmlHeaders(payload: Buffer): Record<string, string> {
  return {
    'Content-Type': 'text/xml; charset=utf-8',
    'Content-Length': String(payload.length),
  };
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

import { plainToInstance } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  Max,
  Min,
  validateSync,
} from 'class-validator';
import { WechatPayConfigError } from '../errors/errors';
import { SIGN_TYPES, type SignType } from '../signer/sign';
import type { WechatPayHooks } from '../hooks/hooks';
import { DEFAULT_MAX_XML_BYTES } from '../xml/xml-codec';
import {
  caContext,
  loadCaCertificates,
  loadMerchantCertificate,
  type MerchantCertificateInfo,
} from './certificate';
import { keepSecrets } from './secrets';

/** What a host app passes to `WechatPayModule.forRoot()` (or returns from its `useFactory`). */
export interface WechatPayModuleOptions {
  /** The mini-program AppID bound to the merchant number. */
  appId: string;
  /** The merchant number (digits). */
  mchId: string;
  /** The API v2 key: exactly 32 characters. Never logged. */
  apiKey: string;
  /** Signature algorithm for requests and pay parameters. Default `HMAC-SHA256`. */
  signType?: SignType;
  /** The mini-program AppSecret, needed only for `jscode2session`. Never logged. */
  appSecret?: string;
  /** Default `notify_url` for orders: absolute, no query string. */
  notifyUrl?: string;
  /** WeChat Pay API host. Default `https://api.mch.weixin.qq.com`. */
  baseUrl?: string;
  /** Mini-program server API host (login). Default `https://api.weixin.qq.com`. */
  apiBaseUrl?: string;
  /** TCP/TLS connect timeout in ms. Default 6000 (the official SDK's). */
  connectTimeoutMs?: number;
  /** Time allowed for the response after connecting, in ms. Default 8000 (the official SDK's). */
  readTimeoutMs?: number;
  /** Largest XML body accepted from WeChat (responses and notifications). Default 64 KiB. */
  maxBodyBytes?: number;
  /** Most sockets kept per host by the keep-alive pool. Default 50. */
  maxSockets?: number;
  /** Observability callbacks (metrics); see WechatPayHooks. */
  hooks?: WechatPayHooks;
  /**
   * The merchant API certificate as WeChat issues it, `apiclient_cert.p12`: a file path or its
   * bytes. Needed for refunds (`/secapi/...`). Or give `certPem` and `keyPem` instead.
   */
  certP12?: string | Buffer;
  /** The p12's passphrase (or an encrypted keyPem's). Default: the mchId, as WeChat issues them. */
  certPassphrase?: string;
  /** `apiclient_cert.pem`: a path, PEM text or a Buffer. With `keyPem`. */
  certPem?: string | Buffer;
  /** `apiclient_key.pem`: a path, PEM text or a Buffer. With `certPem`. Never logged. */
  keyPem?: string | Buffer;
  /**
   * Extra CA certificates (path, PEM text or Buffer) to trust for the WeChat hosts besides Node's
   * bundled roots: for a standalone simulator's TLS listener. Not needed for WeChat itself.
   */
  caCert?: string | Buffer;
  /** Warn in the log this many days before the certificate expires. Default 30. */
  certExpiryWarningDays?: number;
  /** Host of the certificate endpoints (`/secapi/...`), https only. Default: `baseUrl`. */
  secapiBaseUrl?: string;
  /** Largest bill accepted from downloadbill, in bytes of text (after gunzip). Default: no limit. */
  maxBillBytes?: number;
}

/** Options that hold certificate material: read by the certificate loader, not class-transformer. */
const CERTIFICATE_OPTIONS = ['certP12', 'certPassphrase', 'certPem', 'keyPem', 'caCert'] as const;

const URL_OPTIONS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

class OptionsSchema {
  @IsString({ message: 'must be a string' })
  @IsNotEmpty({ message: 'is required' })
  @Length(1, 32, { message: 'must be 1 to 32 characters' })
  appId!: string;

  @IsString({ message: 'must be a string' })
  @Matches(/^\d{1,32}$/, { message: 'must be 1 to 32 digits' })
  mchId!: string;

  @IsString({ message: 'must be a string' })
  @Length(32, 32, { message: 'must be exactly 32 characters' })
  apiKey!: string;

  @IsOptional()
  @IsIn(SIGN_TYPES, { message: `must be one of ${SIGN_TYPES.join(', ')}` })
  signType?: SignType;

  @IsOptional()
  @IsString({ message: 'must be a string' })
  @IsNotEmpty({ message: 'must not be empty when given' })
  appSecret?: string;

  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'must be an absolute http(s) URL' })
  @Matches(/^[^?#]*$/, { message: 'must not contain a query string or fragment' })
  notifyUrl?: string;

  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'must be an absolute http(s) URL' })
  baseUrl?: string;

  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'must be an absolute http(s) URL' })
  apiBaseUrl?: string;

  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(1, { message: 'must be at least 1' })
  @Max(120_000, { message: 'must be at most 120000' })
  connectTimeoutMs?: number;

  @IsOptional()
  @IsInt({ message: 'must be an integer number of milliseconds' })
  @Min(1, { message: 'must be at least 1' })
  @Max(300_000, { message: 'must be at most 300000' })
  readTimeoutMs?: number;

  @IsOptional()
  @IsInt({ message: 'must be an integer number of bytes' })
  @Min(512, { message: 'must be at least 512' })
  @Max(16 * 1024 * 1024, { message: 'must be at most 16777216' })
  maxBodyBytes?: number;

  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: 'must be at least 1' })
  maxSockets?: number;

  @IsOptional()
  @IsInt({ message: 'must be an integer number of days' })
  @Min(0, { message: 'must be at least 0' })
  @Max(3650, { message: 'must be at most 3650' })
  certExpiryWarningDays?: number;

  @IsOptional()
  @IsUrl(
    { ...URL_OPTIONS, protocols: ['https'] },
    { message: 'must be an absolute https URL (the certificate is presented over TLS only)' },
  )
  secapiBaseUrl?: string;

  @IsOptional()
  @IsInt({ message: 'must be an integer number of bytes' })
  @Min(1024, { message: 'must be at least 1024' })
  maxBillBytes?: number;
}

/**
 * The validated, frozen configuration every service reads. It carries no secret: the API key and
 * the app secret are kept beside it, where only the signer (the key) and the login service (the
 * app secret) read them, so a config can be injected, logged or serialised anywhere.
 */
export class WechatPayConfig {
  readonly appId: string;
  readonly mchId: string;
  readonly signType: SignType;
  readonly notifyUrl?: string;
  readonly baseUrl: string;
  readonly apiBaseUrl: string;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxSockets: number;
  /** Whether an app secret was configured (needed by WechatLoginService). */
  readonly hasAppSecret: boolean;
  /** The merchant certificate, when one is configured: public facts only (serial, validity). */
  readonly certificate?: Readonly<MerchantCertificateInfo>;
  readonly certExpiryWarningDays: number;
  /** Where `/secapi/...` requests go. */
  readonly secapiBaseUrl: string;
  /** Whether extra CAs are trusted for the WeChat hosts (`caCert`). */
  readonly hasCaCert: boolean;
  readonly maxBillBytes?: number;

  /**
   * Reads and checks the certificate files too, so a WechatPayConfigError from here means the
   * module cannot start; `resolveWechatPayConfig` validates the other options first.
   */
  constructor(options: WechatPayModuleOptions) {
    this.appId = options.appId;
    this.mchId = options.mchId;
    this.signType = options.signType ?? 'HMAC-SHA256';
    if (options.notifyUrl !== undefined) this.notifyUrl = options.notifyUrl;
    this.baseUrl = (options.baseUrl ?? 'https://api.mch.weixin.qq.com').replace(/\/+$/, '');
    this.apiBaseUrl = (options.apiBaseUrl ?? 'https://api.weixin.qq.com').replace(/\/+$/, '');
    this.connectTimeoutMs = options.connectTimeoutMs ?? 6000;
    this.readTimeoutMs = options.readTimeoutMs ?? 8000;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_XML_BYTES;
    this.maxSockets = options.maxSockets ?? 50;
    this.hasAppSecret = options.appSecret !== undefined;
    this.certExpiryWarningDays = options.certExpiryWarningDays ?? 30;
    this.secapiBaseUrl = (options.secapiBaseUrl ?? this.baseUrl).replace(/\/+$/, '');
    if (options.maxBillBytes !== undefined) this.maxBillBytes = options.maxBillBytes;
    const ca = options.caCert !== undefined ? loadCaCertificates(options.caCert) : undefined;
    this.hasCaCert = ca !== undefined;
    const hasCertificate =
      options.certP12 !== undefined ||
      options.certPem !== undefined ||
      options.keyPem !== undefined;
    const loaded = hasCertificate ? loadMerchantCertificate(options, options.mchId, ca) : undefined;
    if (loaded !== undefined) {
      if (!this.secapiBaseUrl.startsWith('https:')) {
        throw new WechatPayConfigError([
          {
            field: options.secapiBaseUrl !== undefined ? 'secapiBaseUrl' : 'baseUrl',
            problems: [
              'must be https when a certificate is configured: refunds present it over TLS (set secapiBaseUrl to the https host)',
            ],
          },
        ]);
      }
      this.certificate = Object.freeze({ ...loaded.info });
    }
    keepSecrets(this, {
      apiKey: options.apiKey,
      appSecret: options.appSecret,
      certificateContext: loaded?.context,
      caContext: ca !== undefined ? caContext(ca) : undefined,
    });
    Object.freeze(this);
  }
}

/**
 * Validates module options once, at bootstrap. A bad value throws WechatPayConfigError naming
 * every offending field; values are never echoed (the messages are fixed texts per rule).
 */
export function resolveWechatPayConfig(options: unknown): WechatPayConfig {
  if (options === null || typeof options !== 'object') {
    throw new WechatPayConfigError([{ field: 'options', problems: ['must be an object'] }]);
  }
  // Hooks may be a service instance and certificates Buffers: they are checked on their own,
  // never copied by class-transformer.
  const { hooks, ...settings } = options as Record<string, unknown>;
  for (const name of CERTIFICATE_OPTIONS) delete settings[name];
  const schema = plainToInstance(OptionsSchema, settings, { excludeExtraneousValues: false });
  const problems = validateSync(schema, {
    forbidUnknownValues: false,
    validationError: { target: false, value: false },
  }).map((e) => ({ field: e.property, problems: Object.values(e.constraints ?? {}) }));
  const hookProblem = checkHooks(hooks);
  if (hookProblem !== undefined) problems.push({ field: 'hooks', problems: [hookProblem] });
  if (problems.length > 0) throw new WechatPayConfigError(problems);
  return new WechatPayConfig(options as WechatPayModuleOptions);
}

function checkHooks(hooks: unknown): string | undefined {
  if (hooks === undefined) return undefined;
  if (hooks === null || typeof hooks !== 'object') return 'must be an object';
  for (const name of ['onGatewayCall', 'onNotification'] as const) {
    const hook = (hooks as WechatPayHooks)[name];
    if (hook !== undefined && typeof hook !== 'function') return `${name} must be a function`;
  }
  return undefined;
}

import type { SecureContext } from 'node:tls';
import { WechatPayConfigError } from '../errors/errors';
import type { WechatPayConfig } from './wechat-pay.options';

interface Secrets {
  apiKey: string;
  appSecret?: string;
  /** The merchant certificate and key, as a TLS context (for the /secapi/ agent only). */
  certificateContext?: SecureContext;
  /** Node's roots plus the configured caCert, for the other endpoints. */
  caContext?: SecureContext;
}

/**
 * The secrets of each config, outside the object itself, so that nothing holding the config can
 * read, spread, serialise or log them. This file is not part of the package's public entry points:
 * the signer is the only reader of the API key, the login service the only reader of the app
 * secret and the transport the only reader of the certificate.
 */
const secrets = new WeakMap<WechatPayConfig, Secrets>();

export function keepSecrets(config: WechatPayConfig, value: Secrets): void {
  secrets.set(config, Object.freeze({ ...value }));
}

function secretsOf(config: WechatPayConfig): Secrets {
  const value = secrets.get(config);
  if (value === undefined) {
    // The constructor stores them, so only an object merely typed as a config gets here.
    throw new WechatPayConfigError([{ field: 'config', problems: ['is not a WechatPayConfig'] }]);
  }
  return value;
}

export function apiKeyOf(config: WechatPayConfig): string {
  return secretsOf(config).apiKey;
}

export function appSecretOf(config: WechatPayConfig): string | undefined {
  return secretsOf(config).appSecret;
}

export function tlsContextsOf(config: WechatPayConfig): {
  certificate?: SecureContext;
  ca?: SecureContext;
} {
  const { certificateContext, caContext } = secretsOf(config);
  return { certificate: certificateContext, ca: caContext };
}

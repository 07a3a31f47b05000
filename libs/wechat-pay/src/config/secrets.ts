import { WechatPayConfigError } from '../errors/errors';
import type { WechatPayConfig } from './wechat-pay.options';

interface Secrets {
  apiKey: string;
  appSecret?: string;
}

/**
 * The secrets of each config, outside the object itself, so that nothing holding the config can
 * read, spread, serialise or log them. This file is not part of the package's public entry points:
 * the signer is the only reader of the API key and the login service the only reader of the app
 * secret.
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

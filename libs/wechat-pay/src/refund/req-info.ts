import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { WechatPayDecryptionError } from '../errors/errors';
import { parseXml } from '../xml/xml-codec';

/**
 * Refund notifications carry no signature; their `req_info` is AES-256-ECB (PKCS#7) encrypted
 * with the lower-case hex MD5 of the API key, whose 32 ASCII characters are the 32-byte key.
 * Authenticity comes from the decryption succeeding.
 */
export function refundAesKey(apiKey: string): Buffer {
  // digest('hex') always yields 32 characters: no dropped leading zero (a known peer bug).
  return Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'latin1');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decrypts `req_info` into its UTF-8 plaintext; a WechatPayDecryptionError says why it cannot. */
export function decryptReqInfo(reqInfo: string, apiKey: string): string {
  if (typeof reqInfo !== 'string' || !BASE64.test(reqInfo)) {
    throw new WechatPayDecryptionError('req_info is not base64');
  }
  const ciphertext = Buffer.from(reqInfo, 'base64');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new WechatPayDecryptionError('req_info is not a whole number of AES blocks');
  }
  const decipher = createDecipheriv('aes-256-ecb', refundAesKey(apiKey), null);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new WechatPayDecryptionError('req_info does not decrypt with this merchant key');
  }
}

export function encryptReqInfo(plaintext: string, apiKey: string): string {
  const cipher = createCipheriv('aes-256-ecb', refundAesKey(apiKey), null);
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

/** Decrypts `req_info` and parses its `<root>` document into a flat map of strings. */
export async function parseReqInfo(
  reqInfo: string,
  apiKey: string,
): Promise<Record<string, string>> {
  return parseXml(decryptReqInfo(reqInfo, apiKey), { root: 'root' });
}

import { Parser } from 'xml2js';
import { WechatPayXmlError } from '../errors/errors';

/** The default cap on an XML body: WeChat Pay messages are a few KiB at most. */
export const DEFAULT_MAX_XML_BYTES = 64 * 1024;

export interface ParseXmlOptions {
  /** Largest accepted body in bytes; larger ones are refused before parsing. */
  maxBytes?: number;
  /** The expected root element: `xml` for messages, `root` for decrypted refund notices. */
  root?: string;
}

/** WeChat Pay field names: a letter, then letters, digits and underscores (`coupon_fee_0`). */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const TAG_NAME = /<\/?([^\s>/!?]+)/g;
const CDATA_SECTION = /<!\[CDATA\[[\s\S]*?\]\]>/g;
const DECLARED_ENCODING = /^<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']/i;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decode(input: Buffer | string, maxBytes: number): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > maxBytes) {
    throw new WechatPayXmlError(
      'TOO_LARGE',
      `XML body of ${size} bytes exceeds the ${maxBytes}-byte limit`,
    );
  }
  if (typeof input === 'string') return input.replace(/^\uFEFF/, '');
  try {
    // TextDecoder drops a leading UTF-8 BOM itself.
    return utf8.decode(input);
  } catch {
    throw new WechatPayXmlError('NOT_UTF8', 'XML body is not valid UTF-8');
  }
}

/**
 * Refuses DTDs outright. Entity declarations are how XXE and "billion laughs" payloads work; a
 * WeChat Pay message never has one. CDATA content is blanked first so that a value which merely
 * mentions "<!DOCTYPE" is not mistaken for a declaration.
 */
function refuseDeclarations(text: string): void {
  const outsideCdata = text.replace(CDATA_SECTION, '');
  if (/<!DOCTYPE/i.test(outsideCdata) || /<!ENTITY/i.test(outsideCdata)) {
    throw new WechatPayXmlError('DOCTYPE', 'XML body contains a DOCTYPE or ENTITY declaration');
  }
  // Checked before xml2js sees them: xml2js stores elements as object keys, and names that
  // Object.prototype already has (__proto__, constructor, toString...) confuse it.
  for (const [, name] of outsideCdata.matchAll(TAG_NAME)) {
    if (!FIELD_NAME.test(name) || name in Object.prototype) {
      throw new WechatPayXmlError(
        'BAD_FIELD_NAME',
        'XML body has an element name that is not a field name',
      );
    }
  }
  const declared = DECLARED_ENCODING.exec(text.trimStart());
  if (declared && !/^utf-?8$/i.test(declared[1])) {
    throw new WechatPayXmlError('NOT_UTF8', `XML body declares encoding ${declared[1]}, not UTF-8`);
  }
}

function newParser(): Parser {
  return new Parser({
    strict: true,
    explicitRoot: true,
    explicitArray: true,
    trim: false,
    normalize: false,
    normalizeTags: false,
    emptyTag: '',
    attrkey: '$',
    charkey: '_',
    // No value processors: 28-digit ids and leading zeros stay exactly as sent.
  });
}

/**
 * Parses a flat WeChat Pay XML document (`<xml><name>value</name>...</xml>`) into a map of
 * strings. Refuses, each with a typed WechatPayXmlError: empty or oversize bodies, invalid UTF-8,
 * DOCTYPE/ENTITY declarations, malformed XML, a different root, nested elements or attributes,
 * and repeated fields.
 */
export async function parseXml(
  input: Buffer | string,
  options: ParseXmlOptions = {},
): Promise<Record<string, string>> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const rootName = options.root ?? 'xml';
  const text = decode(input, maxBytes);
  if (text.trim() === '') throw new WechatPayXmlError('EMPTY', 'XML body is empty');
  refuseDeclarations(text);

  let document: unknown;
  try {
    document = await newParser().parseStringPromise(text);
  } catch {
    throw new WechatPayXmlError('MALFORMED', 'XML body is not well-formed XML');
  }
  if (document === null || typeof document !== 'object') {
    throw new WechatPayXmlError('MALFORMED', 'XML body has no root element');
  }
  const roots = Object.keys(document);
  if (roots.length !== 1 || roots[0] !== rootName) {
    throw new WechatPayXmlError('WRONG_ROOT', `XML root element must be <${rootName}>`);
  }
  const root = (document as Record<string, unknown>)[rootName];
  const result: Record<string, string> = {};
  if (root === '' || root === undefined || root === null) return result;
  if (typeof root !== 'object') {
    throw new WechatPayXmlError('MALFORMED', `<${rootName}> must contain elements, not text`);
  }
  for (const [name, value] of Object.entries(root as Record<string, unknown>)) {
    if (name === '$') {
      throw new WechatPayXmlError('NESTED', `<${rootName}> must not carry attributes`);
    }
    if (name === '_') {
      throw new WechatPayXmlError('MALFORMED', `<${rootName}> must not contain loose text`);
    }
    const occurrences = value as unknown[];
    if (occurrences.length !== 1) {
      throw new WechatPayXmlError('DUPLICATE_FIELD', `field ${name} appears more than once`);
    }
    const [only] = occurrences;
    if (typeof only !== 'string') {
      throw new WechatPayXmlError(
        'NESTED',
        `field ${name} must hold text, not elements or attributes`,
      );
    }
    result[name] = only;
  }
  return result;
}

function cdata(value: string): string {
  // "]]>" cannot appear inside one CDATA section: end the section between "]]" and ">".
  return `<![CDATA[${value.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/**
 * Builds a flat `<xml>` document. Strings go into CDATA sections (so `& < > ]]>` need no escaping);
 * numbers, which must be safe integers, are written bare. Undefined values are left out.
 */
export function buildXml(
  fields: Readonly<Record<string, string | number | undefined>>,
  root = 'xml',
): string {
  let out = `<${root}>`;
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (!FIELD_NAME.test(name)) {
      throw new WechatPayXmlError('BAD_FIELD_NAME', `"${name}" is not a WeChat Pay field name`);
    }
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`field ${name} must be a safe integer when given as a number`);
      }
      out += `<${name}>${value}</${name}>`;
    } else {
      out += `<${name}>${cdata(value)}</${name}>`;
    }
  }
  return `${out}</${root}>`;
}

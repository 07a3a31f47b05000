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
const DECLARED_ENCODING = /\bencoding\s*=\s*["']([^"']+)["']/i;
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

/** Names already accepted; messages reuse a few dozen names, so the check is mostly a lookup. */
const acceptedNames = new Set<string>();
const ACCEPTED_NAMES_MAX = 4096;

function isFieldName(name: string): boolean {
  if (acceptedNames.has(name)) return true;
  if (!FIELD_NAME.test(name) || name in Object.prototype) return false;
  if (acceptedNames.size < ACCEPTED_NAMES_MAX) acceptedNames.add(name);
  return true;
}

/** The part of xml2js's underlying sax parser that the screening below hooks into. */
interface SaxHooks {
  onopentag: (node: { name: string }) => void;
  ondoctype: (doctype: string) => void;
  onsgmldeclaration: (declaration: string) => void;
  onprocessinginstruction: (instruction: { name: string; body: string }) => void;
}

/**
 * One parser for the whole process. With `async: false` xml2js parses synchronously and calls
 * back before parseString returns, so reusing it is safe in single-threaded JavaScript; it
 * resets its own state after every document, and we skip building a parser per message.
 */
const parser = new Parser({
  async: false,
  strict: true,
  explicitRoot: true,
  // Single values stay plain; a repeated field comes back as an array and is refused below.
  explicitArray: false,
  trim: false,
  normalize: false,
  normalizeTags: false,
  emptyTag: '',
  attrkey: '$',
  charkey: '_',
  // No value processors: 28-digit ids and leading zeros stay exactly as sent.
});

/**
 * Screens the document from inside the parse, on the events of the sax parser xml2js drives, so
 * the markup is read once. It refuses:
 * - DOCTYPE and any other `<!` declaration: DTDs and entity declarations are how XXE and "billion
 *   laughs" payloads work, and a WeChat Pay message never has one;
 * - an XML declaration naming an encoding other than UTF-8;
 * - element names that are not field names: xml2js stores elements as object keys, and names
 *   Object.prototype already has (__proto__, constructor, toString...) would confuse it.
 * A hook throws to stop the parse at once; the refusal is remembered so it is reported, rather
 * than the generic parse failure it turns into.
 */
function parseDocument(text: string): unknown {
  let refusal: WechatPayXmlError | undefined;
  const refuse = (error: WechatPayXmlError): never => {
    refusal ??= error;
    throw refusal;
  };
  const sax = (parser as unknown as { saxParser: SaxHooks }).saxParser;
  const openTag = sax.onopentag;
  sax.onopentag = (node) => {
    if (!isFieldName(node.name)) {
      refuse(
        new WechatPayXmlError(
          'BAD_FIELD_NAME',
          'XML body has an element name that is not a field name',
        ),
      );
    }
    openTag(node);
  };
  sax.ondoctype = () =>
    refuse(new WechatPayXmlError('DOCTYPE', 'XML body contains a DOCTYPE or ENTITY declaration'));
  sax.onsgmldeclaration = () =>
    refuse(new WechatPayXmlError('DOCTYPE', 'XML body contains a DOCTYPE or ENTITY declaration'));
  sax.onprocessinginstruction = ({ name, body }) => {
    const declared = name.toLowerCase() === 'xml' ? DECLARED_ENCODING.exec(body) : null;
    if (declared && !/^utf-?8$/i.test(declared[1])) {
      refuse(
        new WechatPayXmlError('NOT_UTF8', `XML body declares encoding ${declared[1]}, not UTF-8`),
      );
    }
  };

  let settled = false;
  let failed = false;
  let document: unknown;
  try {
    parser.parseString(text, (error: Error | null, value: unknown) => {
      settled = true;
      failed = error !== null;
      document = value;
    });
  } catch {
    failed = true;
  }
  if (refusal || failed || !settled) {
    parser.reset();
    throw refusal ?? new WechatPayXmlError('MALFORMED', 'XML body is not well-formed XML');
  }
  return document;
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
  if (!/\S/.test(text)) throw new WechatPayXmlError('EMPTY', 'XML body is empty');
  const document = parseDocument(text);
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
  const fields = root as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (name === '$') {
      throw new WechatPayXmlError('NESTED', `<${rootName}> must not carry attributes`);
    }
    if (name === '_') {
      throw new WechatPayXmlError('MALFORMED', `<${rootName}> must not contain loose text`);
    }
    if (Array.isArray(value)) {
      throw new WechatPayXmlError('DUPLICATE_FIELD', `field ${name} appears more than once`);
    }
    if (typeof value !== 'string') {
      throw new WechatPayXmlError(
        'NESTED',
        `field ${name} must hold text, not elements or attributes`,
      );
    }
    result[name] = value;
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

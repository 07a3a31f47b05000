import { SAXParser, type SAXOptions, type Tag } from 'sax';
import { WechatPayXmlError, type XmlErrorReason } from '../errors/errors';

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
/** Anything outside the XML 1.0 `Char` production: NUL and other C0 controls, lone surrogates, U+FFFE/U+FFFF. */
const NOT_XML_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/**
 * The XML declaration exactly as XML 1.0 spells it (version 1.0, then optional encoding and
 * standalone, in that order). Group 1 or 2 is the encoding name.
 */
const XML_DECLARATION =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.0"|'1\.0')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"([A-Za-z][A-Za-z0-9._-]*)"|'([A-Za-z][A-Za-z0-9._-]*)'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * sax options. `strictEntities` limits references to the five XML entities (sax otherwise expands
 * HTML names such as `&nbsp;`, which XML does not define); the types package does not list it.
 */
const SAX_OPTIONS = {
  trim: false,
  normalize: false,
  xmlns: false,
  position: true,
  strictEntities: true,
} as SAXOptions;

function decode(input: Buffer | string, maxBytes: number): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > maxBytes) {
    throw new WechatPayXmlError(
      'TOO_LARGE',
      `XML body of ${size} bytes exceeds the ${maxBytes}-byte limit`,
    );
  }
  let text: string;
  if (typeof input === 'string') {
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    try {
      // TextDecoder drops one leading UTF-8 BOM itself.
      text = utf8.decode(input);
    } catch {
      throw new WechatPayXmlError('NOT_UTF8', 'XML body is not valid UTF-8');
    }
  }
  // sax would silently skip a second BOM; a document has at most one.
  if (text.charCodeAt(0) === 0xfeff) {
    throw new WechatPayXmlError('MALFORMED', 'XML body starts with more than one byte-order mark');
  }
  return text;
}

function isFieldName(name: string): boolean {
  // Names Object.prototype already has (__proto__, constructor, toString...) would be unsafe keys.
  return FIELD_NAME.test(name) && !(name in Object.prototype);
}

function refusal(reason: XmlErrorReason, message: string): WechatPayXmlError {
  return new WechatPayXmlError(reason, message);
}

/**
 * Reads one flat document (`<root><name>value</name>...</root>`) with a sax parser made for this
 * call alone and thrown away after it, so nothing one body does can reach the parse of another,
 * whether it fails or not and however calls interleave. The first problem stops the parse: a
 * handler throws out of `write`, and sax is never asked to go on after an error.
 *
 * Besides what strict sax refuses, it refuses what sax lets through although XML forbids it or a
 * WeChat Pay message never has it: anything after the root element (text, a second root, a
 * DOCTYPE), characters XML cannot carry (NUL...), `<![cdata[` in the wrong case, whitespace after
 * `<` or `</`, an XML declaration anywhere but at the very start or other than version 1.0 in
 * UTF-8, any other processing instruction, DOCTYPE and other `<!` declarations (the way XXE and
 * entity-expansion payloads arrive), attributes, nesting, repeated fields and names that are not
 * field names.
 */
function parseDocument(text: string, rootName: string): Record<string, string> {
  if (NOT_XML_CHARACTER.test(text)) {
    throw refusal('BAD_CHARACTER', 'XML body contains a character XML does not allow');
  }
  const sax = new SAXParser(true, SAX_OPTIONS);
  const fields: Record<string, string> = {};
  let depth = 0;
  let rootSeen = false;
  let rootClosed = false;
  let field: string | undefined;
  let value = '';
  let selfClosing = false;

  /** The character right after the `<` of the markup being reported. */
  const markupStartsWith = (expected: string): boolean =>
    text.startsWith(expected, sax.startTagPosition);

  sax.onerror = (error) => {
    if (rootClosed)
      throw refusal('TRAILING_CONTENT', 'XML body has content after the root element');
    // A DOCTYPE after the root start fails inside sax before ondoctype would run.
    if (/doctype/i.test(error.message)) {
      throw refusal('DOCTYPE', 'XML body contains a DOCTYPE or ENTITY declaration');
    }
    throw refusal('MALFORMED', 'XML body is not well-formed XML');
  };
  sax.ondoctype = () => {
    throw refusal('DOCTYPE', 'XML body contains a DOCTYPE or ENTITY declaration');
  };
  sax.onsgmldeclaration = () => {
    throw refusal('DOCTYPE', 'XML body contains a DOCTYPE or ENTITY declaration');
  };
  sax.onprocessinginstruction = () => {
    const declaration = sax.startTagPosition === 1 ? XML_DECLARATION.exec(text) : null;
    if (declaration === null) {
      throw refusal(
        'DECLARATION',
        'XML body has a processing instruction or an XML declaration that is misplaced or not version 1.0',
      );
    }
    const encoding = declaration[1] ?? declaration[2];
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
      throw refusal('NOT_UTF8', `XML body declares encoding ${encoding}, not UTF-8`);
    }
  };
  sax.onopencdata = () => {
    if (!markupStartsWith('![CDATA['))
      throw refusal('MALFORMED', 'XML body has a malformed CDATA section');
  };
  sax.oncomment = () => {
    if (!markupStartsWith('!--')) throw refusal('MALFORMED', 'XML body has a malformed comment');
  };
  sax.onopentag = (tag: Tag) => {
    if (rootClosed) throw refusal('TRAILING_CONTENT', 'XML body has a second root element');
    if (!markupStartsWith(tag.name)) throw refusal('MALFORMED', 'XML body has whitespace after <');
    const hasAttributes = Object.keys(tag.attributes).length > 0;
    selfClosing = tag.isSelfClosing;
    depth += 1;
    if (depth === 1) {
      rootSeen = true;
      if (tag.name !== rootName) {
        throw refusal('WRONG_ROOT', `XML root element must be <${rootName}>`);
      }
      if (hasAttributes) throw refusal('NESTED', `<${rootName}> must not carry attributes`);
      return;
    }
    if (depth > 2) {
      throw refusal('NESTED', `field ${field} must hold text, not elements or attributes`);
    }
    if (!isFieldName(tag.name)) {
      throw refusal('BAD_FIELD_NAME', 'XML body has an element name that is not a field name');
    }
    if (hasAttributes) {
      throw refusal('NESTED', `field ${tag.name} must hold text, not elements or attributes`);
    }
    if (Object.prototype.hasOwnProperty.call(fields, tag.name)) {
      throw refusal('DUPLICATE_FIELD', `field ${tag.name} appears more than once`);
    }
    field = tag.name;
    value = '';
  };
  sax.onclosetag = (name: string) => {
    // A self-closing tag is reported as an open and a close of the same markup.
    if (selfClosing) selfClosing = false;
    else if (!markupStartsWith(`/${name}`)) {
      throw refusal('MALFORMED', 'XML body has whitespace after </');
    }
    depth -= 1;
    if (depth === 1 && field !== undefined) {
      fields[field] = value;
      field = undefined;
    } else if (depth === 0) {
      rootClosed = true;
    }
  };
  const onCharacters = (characters: string): void => {
    if (depth === 2) {
      value += characters;
    } else if (/\S/.test(characters)) {
      throw refusal('MALFORMED', `<${rootName}> must contain elements, not text`);
    }
  };
  sax.ontext = onCharacters;
  sax.oncdata = onCharacters;

  sax.write(text).close();
  if (!rootSeen) throw refusal('MALFORMED', 'XML body has no root element');
  return fields;
}

/**
 * Parses a flat WeChat Pay XML document (`<xml><name>value</name>...</xml>`) into a map of
 * strings, exactly as sent: no trimming, no number coercion (28-digit ids and leading zeros
 * survive). A pure function of its input. Refuses, each with a typed WechatPayXmlError: empty or
 * oversize bodies, invalid UTF-8, malformed XML, trailing content, DOCTYPE/ENTITY declarations,
 * misplaced or non-1.0 declarations, a different root, nested elements or attributes, and
 * repeated fields.
 */
export async function parseXml(
  input: Buffer | string,
  options: ParseXmlOptions = {},
): Promise<Record<string, string>> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const text = decode(input, maxBytes);
  if (!/\S/.test(text)) throw new WechatPayXmlError('EMPTY', 'XML body is empty');
  return parseDocument(text, options.root ?? 'xml');
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
        throw new WechatPayXmlError(
          'BAD_VALUE',
          `field ${name} must be a safe integer when given as a number`,
        );
      }
      out += `<${name}>${value}</${name}>`;
    } else {
      out += `<${name}>${cdata(value)}</${name}>`;
    }
  }
  return `${out}</${root}>`;
}

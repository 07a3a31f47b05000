import { WechatPayXmlError, type XmlErrorReason } from '../errors/errors';
import { buildXml, DEFAULT_MAX_XML_BYTES, parseXml } from './xml-codec';

async function reasonOf(input: Buffer | string, maxBytes?: number): Promise<XmlErrorReason> {
  try {
    await parseXml(input, { maxBytes });
  } catch (error) {
    if (error instanceof WechatPayXmlError) return error.reason;
    throw error;
  }
  throw new Error('expected parseXml to refuse the input');
}

describe('parseXml', () => {
  it('reads CDATA and bare values into a flat map of strings', async () => {
    const xml =
      '<xml><return_code><![CDATA[SUCCESS]]></return_code><total_fee>88</total_fee>' +
      '<attach><![CDATA[]]></attach><device_info/></xml>';
    await expect(parseXml(xml)).resolves.toEqual({
      return_code: 'SUCCESS',
      total_fee: '88',
      attach: '',
      device_info: '',
    });
  });

  it('never coerces numbers: 28-digit ids and leading zeros survive', async () => {
    const parsed = await parseXml(
      '<xml><transaction_id>4200000288201903177135850941</transaction_id><out_trade_no>000123</out_trade_no>' +
        '<cash_fee>1e3</cash_fee><flag>true</flag></xml>',
    );
    expect(parsed).toEqual({
      transaction_id: '4200000288201903177135850941',
      out_trade_no: '000123',
      cash_fee: '1e3',
      flag: 'true',
    });
  });

  it('keeps whitespace, escaped characters and Chinese text exactly', async () => {
    const parsed = await parseXml(
      Buffer.from(
        '<xml><body><![CDATA[ 腾讯 & <充值> ]]></body><a>x &amp; y &lt;z&gt;</a></xml>',
        'utf8',
      ),
    );
    expect(parsed).toEqual({ body: ' 腾讯 & <充值> ', a: 'x & y <z>' });
  });

  it('accepts an XML declaration for UTF-8, a byte-order mark and whitespace between elements', async () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(
        '<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n  <a>1</a>\n  <b>2</b>\n</xml>\n',
      ),
    ]);
    await expect(parseXml(body)).resolves.toEqual({ a: '1', b: '2' });
  });

  it('refuses element names that are not field names, such as __proto__ or constructor', async () => {
    await expect(reasonOf('<xml><__proto__>x</__proto__></xml>')).resolves.toBe('BAD_FIELD_NAME');
    await expect(reasonOf('<xml><constructor>y</constructor></xml>')).resolves.toBe(
      'BAD_FIELD_NAME',
    );
    await expect(reasonOf('<xml><a:b>x</a:b></xml>')).resolves.toBe('BAD_FIELD_NAME');
  });

  it('refuses a DOCTYPE with an external entity (XXE)', async () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
      '<xml><a>&xxe;</a></xml>';
    await expect(reasonOf(xxe)).resolves.toBe('DOCTYPE');
  });

  it('refuses an entity expansion bomb', async () => {
    const bomb =
      '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><v>&b;</v></xml>';
    await expect(reasonOf(bomb)).resolves.toBe('DOCTYPE');
  });

  it('refuses an entity declaration outside a DOCTYPE (the strict parser calls it malformed)', async () => {
    await expect(reasonOf('<!ENTITY x "y"><xml><a>1</a></xml>')).resolves.toBe('MALFORMED');
  });

  it('refuses a DOCTYPE placed inside the root element', async () => {
    await expect(reasonOf('<xml><a>1</a><!DOCTYPE xml></xml>')).resolves.toBe('DOCTYPE');
  });

  it('allows a value that merely mentions <!DOCTYPE inside CDATA', async () => {
    await expect(
      parseXml('<xml><attach><![CDATA[<!DOCTYPE html>]]></attach></xml>'),
    ).resolves.toEqual({
      attach: '<!DOCTYPE html>',
    });
  });

  it('refuses nested elements and attributes', async () => {
    await expect(reasonOf('<xml><detail><goods>1</goods></detail></xml>')).resolves.toBe('NESTED');
    await expect(reasonOf('<xml><total_fee currency="CNY">1</total_fee></xml>')).resolves.toBe(
      'NESTED',
    );
    await expect(reasonOf('<xml version="1"><a>1</a></xml>')).resolves.toBe('NESTED');
  });

  it('refuses a field that appears twice, so a verifier and a reader cannot disagree on it', async () => {
    await expect(
      reasonOf('<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>'),
    ).resolves.toBe('DUPLICATE_FIELD');
  });

  it('refuses malformed XML, JSON and plain text', async () => {
    await expect(reasonOf('<xml><a>1</xml>')).resolves.toBe('MALFORMED');
    await expect(reasonOf('{"return_code":"SUCCESS"}')).resolves.toBe('MALFORMED');
    await expect(reasonOf('return_code=SUCCESS')).resolves.toBe('MALFORMED');
    await expect(reasonOf('<xml>loose<a>1</a></xml>')).resolves.toBe('MALFORMED');
  });

  it('refuses another root element unless asked for it', async () => {
    await expect(reasonOf('<root><a>1</a></root>')).resolves.toBe('WRONG_ROOT');
    await expect(parseXml('<root><a>1</a></root>', { root: 'root' })).resolves.toEqual({ a: '1' });
  });

  it('refuses empty and whitespace-only bodies', async () => {
    await expect(reasonOf('')).resolves.toBe('EMPTY');
    await expect(reasonOf(Buffer.alloc(0))).resolves.toBe('EMPTY');
    await expect(reasonOf(' \n ')).resolves.toBe('EMPTY');
  });

  it('refuses bodies over the limit before parsing them (default 64 KiB)', async () => {
    expect(DEFAULT_MAX_XML_BYTES).toBe(65536);
    const big = `<xml><a>${'x'.repeat(DEFAULT_MAX_XML_BYTES)}</a></xml>`;
    await expect(reasonOf(big)).resolves.toBe('TOO_LARGE');
    await expect(reasonOf('<xml><a>123456</a></xml>', 10)).resolves.toBe('TOO_LARGE');
    // The limit counts bytes, not characters: 3 Chinese characters are 9 bytes.
    await expect(reasonOf('<xml><a>中文字</a></xml>', 20)).resolves.toBe('TOO_LARGE');
  });

  it('refuses bytes that are not UTF-8 and a declared non-UTF-8 encoding', async () => {
    const gbk = Buffer.concat([
      Buffer.from('<xml><body>'),
      Buffer.from([0xd6, 0xd0, 0xce, 0xc4]),
      Buffer.from('</body></xml>'),
    ]);
    await expect(reasonOf(gbk)).resolves.toBe('NOT_UTF8');
    await expect(reasonOf('<?xml version="1.0" encoding="GBK"?><xml><a>1</a></xml>')).resolves.toBe(
      'NOT_UTF8',
    );
  });
});

describe('parseXml refuses what lies outside the root element', () => {
  it.each([
    ['text', '<xml><a>1</a></xml>junk', 'TRAILING_CONTENT'],
    ['a second root', '<xml><a>1</a></xml><xml><b>2</b></xml>', 'TRAILING_CONTENT'],
    ['a DOCTYPE', '<xml><a>1</a></xml><!DOCTYPE xml>', 'TRAILING_CONTENT'],
    ['a NUL byte', '<xml><a>1</a></xml>\u0000', 'BAD_CHARACTER'],
    ['an unclosed element', '<xml><a>1</a></xml><b>', 'TRAILING_CONTENT'],
  ] as const)('refuses %s after </xml>', async (_what, body, reason) => {
    await expect(reasonOf(body)).resolves.toBe(reason);
  });

  it('accepts whitespace and comments after </xml>', async () => {
    await expect(parseXml('<xml><a>1</a></xml>\r\n  <!-- sent by WeChat -->\n')).resolves.toEqual({
      a: '1',
    });
  });
});

describe('parseXml is a pure function of its input', () => {
  /** Each body with the outcome it has when parsed on its own. */
  const corpus = [
    '<xml><a>1</a></xml>junk',
    '<xml><a>1</a><b>2</xml>',
    '<xml><return_code>SUCCESS</return_code>',
    '<xml><a>1</a></xml><xml><b>2</b></xml>',
    '<!DOCTYPE xml [<!ENTITY x "y">]><xml><a>&x;</a></xml>',
    '<xml><__proto__>1</__proto__></xml>',
    '<xml><a>1</a><a>2</a></xml>',
    '<xml><a><b>1</b></a></xml>',
    '<xml><a>1</a></xml>',
    '<xml><c><![CDATA[x]]></c><d>2</d></xml>',
    '<?xml version="1.0" encoding="UTF-8"?><xml><e>5</e></xml>',
  ];
  const outcome = async (body: string): Promise<unknown> => {
    try {
      return await parseXml(body);
    } catch (error) {
      return error instanceof WechatPayXmlError ? error.reason : error;
    }
  };

  it('refuses a malformed body after a body with trailing junk exactly as it does on its own', async () => {
    const malformed = '<xml><a>1</a><b>2</xml>';
    await expect(reasonOf(malformed)).resolves.toBe('MALFORMED');
    await expect(reasonOf('<xml><a>1</a></xml>junk')).resolves.toBe('TRAILING_CONTENT');
    await expect(reasonOf(malformed)).resolves.toBe('MALFORMED');
  });

  it('gives every body the same outcome whichever body was parsed before it', async () => {
    const alone = await Promise.all(corpus.map(outcome));
    for (const before of corpus) {
      for (let i = 0; i < corpus.length; i += 1) {
        await outcome(before);
        await expect(outcome(corpus[i])).resolves.toEqual(alone[i]);
      }
    }
  });

  it('gives the same outcomes when the bodies are parsed concurrently, interleaved with failures', async () => {
    const alone = await Promise.all(corpus.map(outcome));
    const rounds = Array.from({ length: 20 }, (_, round) =>
      Promise.all(corpus.map((_body, i) => outcome(corpus[(i + round) % corpus.length]))),
    );
    const results = await Promise.all(rounds);
    results.forEach((round, r) =>
      round.forEach((result, i) => expect(result).toEqual(alone[(i + r) % corpus.length])),
    );
  });
});

describe('parseXml refuses markup that sax alone would let through', () => {
  it.each([
    ['a lower-case <![cdata[', '<xml><a><![cdata[1]]></a></xml>', 'MALFORMED'],
    ['a mixed-case <![Cdata[', '<xml><a><![Cdata[1]]></a></xml>', 'MALFORMED'],
    ['whitespace after <', '<xml>< name>1</name></xml>', 'MALFORMED'],
    ['whitespace after </', '<xml><name>1</ name></xml>', 'MALFORMED'],
    ['whitespace before the root name', '< xml><a>1</a></xml>', 'MALFORMED'],
    [
      'an XML declaration inside the root',
      '<xml><?xml version="1.0"?><a>1</a></xml>',
      'DECLARATION',
    ],
    [
      'an XML declaration after leading whitespace',
      ' <?xml version="1.0"?><xml><a>1</a></xml>',
      'DECLARATION',
    ],
    [
      'an XML declaration after a comment',
      '<!-- c --><?xml version="1.0"?><xml><a>1</a></xml>',
      'DECLARATION',
    ],
    ['version="2.0"', '<?xml version="2.0"?><xml><a>1</a></xml>', 'DECLARATION'],
    ['an upper-case <?XML', '<?XML version="1.0"?><xml><a>1</a></xml>', 'DECLARATION'],
    [
      'a declaration without a version',
      '<?xml encoding="UTF-8"?><xml><a>1</a></xml>',
      'DECLARATION',
    ],
    [
      'a declaration with the encoding first',
      '<?xml encoding="UTF-8" version="1.0"?><xml><a>1</a></xml>',
      'DECLARATION',
    ],
    ['another processing instruction', '<xml><?php echo 1; ?><a>1</a></xml>', 'DECLARATION'],
    ['a double byte-order mark', '\uFEFF\uFEFF<xml><a>1</a></xml>', 'MALFORMED'],
    ['a NUL byte inside a value', '<xml><a>1\u00002</a></xml>', 'BAD_CHARACTER'],
    ['a character reference to NUL', '<xml><a>1&#0;2</a></xml>', 'MALFORMED'],
    ['a character reference to a lone surrogate', '<xml><a>&#xD800;</a></xml>', 'MALFORMED'],
    ['an HTML entity XML does not define', '<xml><a>&nbsp;</a></xml>', 'MALFORMED'],
  ] as const)('refuses %s', async (_what, body, reason) => {
    await expect(reasonOf(body)).resolves.toBe(reason);
  });

  it('refuses a double byte-order mark in bytes too', async () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]),
      Buffer.from('<xml><a>1</a></xml>'),
    ]);
    await expect(reasonOf(body)).resolves.toBe('MALFORMED');
  });

  it('accepts the declarations, comments and markup XML 1.0 allows', async () => {
    await expect(
      parseXml(`<?xml version='1.0' encoding='utf-8' standalone="yes" ?><xml><a>1</a></xml>`),
    ).resolves.toEqual({ a: '1' });
    await expect(parseXml('<?xml version="1.0"?>\n<xml><a >1</a ></xml >')).resolves.toEqual({
      a: '1',
    });
    await expect(
      parseXml(
        '<xml><!-- first --><a>1<!-- inside -->2</a><b><![CDATA[<![cdata[ is text here]]></b></xml>',
      ),
    ).resolves.toEqual({ a: '12', b: '<![cdata[ is text here' });
    await expect(parseXml('<xml><a>&#x41;&#66;&quot;&apos;</a></xml>')).resolves.toEqual({
      a: 'AB"\'',
    });
  });
});

describe('buildXml', () => {
  it('wraps strings in CDATA and writes integers bare, leaving out undefined', () => {
    expect(buildXml({ return_code: 'SUCCESS', total_fee: 88, attach: undefined })).toBe(
      '<xml><return_code><![CDATA[SUCCESS]]></return_code><total_fee>88</total_fee></xml>',
    );
  });

  it('round-trips values holding & = + < > ]]> and Chinese text', async () => {
    const fields = {
      attach: 'a&b=c+d <e> ]]> f ]]]]> g',
      body: '腾讯充值中心-QQ会员充值',
      empty: '',
    };
    await expect(parseXml(buildXml(fields))).resolves.toEqual(fields);
  });

  it('refuses field names that are not XML names and non-integer numbers', () => {
    expect(() => buildXml({ 'bad name': 'x' })).toThrow(WechatPayXmlError);
    expect(() => buildXml({ '<a>': 'x' })).toThrow(WechatPayXmlError);
    expect(() => buildXml({ total_fee: 0.5 })).toThrow(/safe integer/);
    expect(() => buildXml({ total_fee: 0.5 })).toThrow(WechatPayXmlError);
    expect(() => buildXml({ total_fee: Number.NaN })).toThrow(WechatPayXmlError);
  });
});

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
  });
});

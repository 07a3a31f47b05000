import { StringDecoder } from 'node:string_decoder';
import { WechatPayProtocolError, WechatPayTransportError } from '../errors/errors';
import { parseBeijingDateTime } from '../util/beijing-time';
import { parseFen, parseYuan, parseYuanMilliFen } from '../util/money';
import type { BillRow, BillSummary, ParsedBill } from './bill.types';

/**
 * The daily trade bill (downloadbill) is not XML: a header line of Chinese column names, one line
 * per record whose values each start with a backtick, a summary header line (`总交易单数,...`) and
 * a summary line. Amounts are yuan text, read into integer fen (fees into milli-fen) by moving
 * the decimal point, never through floating point.
 *
 * Columns are found by their header name, so the older layout (总金额, 企业红包金额, 子商户号...),
 * the current one (应结订单金额, 代金券金额, 特约商户号, 订单金额...) and the layouts of every
 * bill_type (SUCCESS has no refund columns, REFUND adds 退款申请时间 and 退款成功时间) are read
 * by the same code; a column this library does not know stays in `raw`.
 *
 * Values are split at a comma followed by a backtick, not at every comma: the backtick that
 * starts each value is what makes a comma inside 商品名称 or 商户数据包 part of the value (a plain
 * comma split would shift every later column). A line whose value count still differs from the
 * header's (a value containing a comma and a backtick) is refused with its line number rather
 * than guessed at.
 */

type Kind = 'text' | 'fen' | 'milliFen' | 'time' | 'count';

interface Column {
  key: string;
  kind: Kind;
}

/** Every known row column, under every name WeChat has given it. */
const ROW_COLUMNS: Readonly<Record<string, Column>> = {
  交易时间: { key: 'tradeTime', kind: 'time' },
  公众账号ID: { key: 'appId', kind: 'text' },
  商户号: { key: 'mchId', kind: 'text' },
  特约商户号: { key: 'subMchId', kind: 'text' },
  子商户号: { key: 'subMchId', kind: 'text' },
  设备号: { key: 'deviceInfo', kind: 'text' },
  微信订单号: { key: 'transactionId', kind: 'text' },
  商户订单号: { key: 'outTradeNo', kind: 'text' },
  用户标识: { key: 'openid', kind: 'text' },
  交易类型: { key: 'tradeType', kind: 'text' },
  交易状态: { key: 'tradeState', kind: 'text' },
  付款银行: { key: 'bankType', kind: 'text' },
  货币种类: { key: 'feeType', kind: 'text' },
  应结订单金额: { key: 'settlementTotalFee', kind: 'fen' },
  总金额: { key: 'settlementTotalFee', kind: 'fen' },
  代金券金额: { key: 'couponFee', kind: 'fen' },
  企业红包金额: { key: 'couponFee', kind: 'fen' },
  退款申请时间: { key: 'refundApplyTime', kind: 'time' },
  退款成功时间: { key: 'refundSuccessTime', kind: 'time' },
  微信退款单号: { key: 'refundId', kind: 'text' },
  商户退款单号: { key: 'outRefundNo', kind: 'text' },
  退款金额: { key: 'refundFee', kind: 'fen' },
  充值券退款金额: { key: 'rechargeCouponRefundFee', kind: 'fen' },
  企业红包退款金额: { key: 'rechargeCouponRefundFee', kind: 'fen' },
  退款企业红包金额: { key: 'rechargeCouponRefundFee', kind: 'fen' },
  退款类型: { key: 'refundType', kind: 'text' },
  退款状态: { key: 'refundStatus', kind: 'text' },
  商品名称: { key: 'body', kind: 'text' },
  商户数据包: { key: 'attach', kind: 'text' },
  手续费: { key: 'feeMilliFen', kind: 'milliFen' },
  费率: { key: 'rate', kind: 'text' },
  订单金额: { key: 'totalFee', kind: 'fen' },
  申请退款金额: { key: 'refundApplyFee', kind: 'fen' },
  费率备注: { key: 'rateRemark', kind: 'text' },
};

/** Row keys every layout has; a bill without one of them is not a trade bill. */
const REQUIRED_ROW_KEYS = [
  'tradeTime',
  'appId',
  'mchId',
  'transactionId',
  'outTradeNo',
  'tradeState',
  'settlementTotalFee',
  'feeMilliFen',
] as const;

const SUMMARY_COLUMNS: Readonly<Record<string, Column>> = {
  总交易单数: { key: 'totalCount', kind: 'count' },
  应结订单总金额: { key: 'settlementTotalFee', kind: 'fen' },
  总交易额: { key: 'settlementTotalFee', kind: 'fen' },
  退款总金额: { key: 'refundFee', kind: 'fen' },
  总退款金额: { key: 'refundFee', kind: 'fen' },
  充值券退款总金额: { key: 'rechargeCouponRefundFee', kind: 'fen' },
  总企业红包退款金额: { key: 'rechargeCouponRefundFee', kind: 'fen' },
  总代金券或立减优惠退款金额: { key: 'rechargeCouponRefundFee', kind: 'fen' },
  手续费总金额: { key: 'feeMilliFen', kind: 'milliFen' },
  订单总金额: { key: 'totalFee', kind: 'fen' },
  申请退款总金额: { key: 'refundApplyFee', kind: 'fen' },
};

const SUMMARY_FIRST_COLUMN = '总交易单数';
/** A line longer than this is not a bill line (a row is a few hundred bytes). */
export const MAX_BILL_LINE_CHARS = 64 * 1024;

function protocolError(message: string, line: string): WechatPayProtocolError {
  return new WechatPayProtocolError(message, line.slice(0, 1024));
}

interface Layout {
  names: readonly string[];
  columns: ReadonlyArray<Column | undefined>;
}

function layoutOf(line: string, known: Readonly<Record<string, Column>>, lineNo: number): Layout {
  const names = line.split(',');
  const columns = names.map((name) => known[name]);
  const seen = new Set<string>();
  for (const [index, column] of columns.entries()) {
    if (column === undefined) continue;
    if (seen.has(column.key)) {
      throw protocolError(`bill line ${lineNo} names column ${names[index]} twice`, line);
    }
    seen.add(column.key);
  }
  return { names, columns };
}

/** The values of a backtick-prefixed line. */
function valuesOf(line: string, expected: number, lineNo: number): string[] {
  const values = line.slice(1).split(',`');
  if (values.length !== expected) {
    throw protocolError(
      `bill line ${lineNo} has ${values.length} values for ${expected} columns`,
      line,
    );
  }
  return values;
}

function readValue(
  column: Column,
  name: string,
  text: string,
  lineNo: number,
  line: string,
): string | number | Date | undefined {
  if (column.kind === 'text') return text;
  if (text === '') return undefined;
  const value =
    column.kind === 'fen'
      ? parseYuan(text)
      : column.kind === 'milliFen'
        ? parseYuanMilliFen(text)
        : column.kind === 'count'
          ? parseFen(text)
          : parseBeijingDateTime(text);
  if (value === undefined) {
    const what =
      column.kind === 'time'
        ? 'a Beijing time (yyyy-MM-dd HH:mm:ss)'
        : column.kind === 'count'
          ? 'a count'
          : `an amount in yuan with at most ${column.kind === 'fen' ? 2 : 5} decimals`;
    throw protocolError(`bill line ${lineNo}: ${name} is not ${what}`, line);
  }
  return value;
}

/**
 * Reads a bill line by line: header, rows, summary header, summary. `line()` returns the row a
 * line holds (undefined for the other lines), `finish()` the summary once every line was given.
 * Holds nothing but the two layouts and the summary: memory does not grow with the bill.
 */
export class BillLineReader {
  private state: 'header' | 'rows' | 'summary' | 'done' = 'header';
  private lineNo = 0;
  private rowLayout?: Layout;
  private summaryLayout?: Layout;
  private parsedSummary?: BillSummary;
  /** Records read so far. */
  rowCount = 0;

  /** The header's column names, once the header was read. */
  get columns(): readonly string[] | undefined {
    return this.rowLayout?.names;
  }

  get summary(): BillSummary | undefined {
    return this.parsedSummary;
  }

  line(raw: string): BillRow | undefined {
    this.lineNo += 1;
    const line = this.lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (line.trim() === '') return undefined;
    if (this.state === 'header') {
      this.rowLayout = this.header(line);
      this.state = 'rows';
      return undefined;
    }
    if (this.state === 'rows') {
      if (line.startsWith('`')) return this.row(line);
      if (!line.startsWith(SUMMARY_FIRST_COLUMN)) {
        throw protocolError(
          `bill line ${this.lineNo} is neither a record nor the summary header`,
          line,
        );
      }
      this.summaryLayout = layoutOf(line, SUMMARY_COLUMNS, this.lineNo);
      this.state = 'summary';
      return undefined;
    }
    if (this.state === 'summary') {
      if (!line.startsWith('`')) {
        throw protocolError(`bill line ${this.lineNo} is not the summary line`, line);
      }
      this.parsedSummary = this.summaryLine(line);
      this.state = 'done';
      return undefined;
    }
    throw protocolError(`bill line ${this.lineNo} follows the summary`, line);
  }

  /** The summary; a bill that ended before it (truncated, or not a bill) is refused. */
  finish(): BillSummary {
    if (this.parsedSummary === undefined) {
      throw new WechatPayProtocolError(
        this.state === 'header' ? 'the bill is empty' : 'the bill ended before its summary line',
        '',
      );
    }
    return this.parsedSummary;
  }

  private header(line: string): Layout {
    const layout = layoutOf(line, ROW_COLUMNS, this.lineNo);
    const keys = new Set(layout.columns.map((column) => column?.key));
    const missing = REQUIRED_ROW_KEYS.find((key) => !keys.has(key));
    if (missing !== undefined) {
      throw protocolError(
        `the bill header has no ${missing} column: not a WeChat Pay trade bill`,
        line,
      );
    }
    return layout;
  }

  private row(line: string): BillRow {
    const layout = this.rowLayout as Layout;
    const values = valuesOf(line, layout.names.length, this.lineNo);
    const row: Record<string, unknown> = {};
    const raw: Record<string, string> = {};
    for (let i = 0; i < values.length; i += 1) {
      const name = layout.names[i];
      raw[name] = values[i];
      const column = layout.columns[i];
      if (column === undefined) continue;
      const value = readValue(column, name, values[i], this.lineNo, line);
      if (value !== undefined) row[column.key] = value;
    }
    for (const key of REQUIRED_ROW_KEYS) {
      if (row[key] === undefined) {
        throw protocolError(`bill line ${this.lineNo} has no value for ${key}`, line);
      }
    }
    row.raw = Object.freeze(raw);
    this.rowCount += 1;
    return row as unknown as BillRow;
  }

  private summaryLine(line: string): BillSummary {
    const layout = this.summaryLayout as Layout;
    const values = valuesOf(line, layout.names.length, this.lineNo);
    const summary: Record<string, unknown> = {};
    const raw: Record<string, string> = {};
    for (let i = 0; i < values.length; i += 1) {
      raw[layout.names[i]] = values[i];
      const column = layout.columns[i];
      if (column === undefined) continue;
      const value = readValue(column, layout.names[i], values[i], this.lineNo, line);
      if (value !== undefined) summary[column.key] = value;
    }
    if (summary.totalCount === undefined) {
      throw protocolError(`bill line ${this.lineNo}: 总交易单数 is empty`, line);
    }
    summary.raw = Object.freeze(raw);
    return summary as unknown as BillSummary;
  }
}

/** Parses a whole bill held in memory (small bills, tests). Large bills: use parseBillStream. */
export function parseBill(input: string | Buffer): ParsedBill {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  const reader = new BillLineReader();
  const rows: BillRow[] = [];
  for (const line of text.split('\n')) {
    const row = reader.line(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (row !== undefined) rows.push(row);
  }
  const summary = reader.finish();
  return { columns: reader.columns as readonly string[], rows, summary };
}

export interface BillStreamOptions {
  /** Refuse the bill past this many bytes of text (after gunzip). Default: no limit. */
  maxBytes?: number;
  /**
   * Called once when the iteration ends: completed (every row and the summary read), failed
   * (`error`), or stopped early by the consumer (neither). Used to release the connection.
   */
  onClose?: (outcome: { completed: boolean; error?: unknown }) => void;
}

/**
 * The lines of a UTF-8 byte stream, one at a time: reading pauses while the consumer does, so at
 * most one chunk and one line are held.
 */
export async function* billLines(
  source: AsyncIterable<Buffer | string>,
  options: BillStreamOptions = {},
): AsyncGenerator<string, void, undefined> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let bytes = 0;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  for await (const chunk of source) {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (bytes > maxBytes) {
      throw new WechatPayTransportError('TOO_LARGE', `the bill exceeds ${maxBytes} bytes`, {
        retryable: false,
      });
    }
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n', start)) {
      const stop = end > start && pending.charCodeAt(end - 1) === 13 ? end - 1 : end;
      yield pending.slice(start, stop);
      start = end + 1;
    }
    pending = pending.slice(start);
    if (pending.length > MAX_BILL_LINE_CHARS) {
      throw protocolError(`a bill line is longer than ${MAX_BILL_LINE_CHARS} characters`, pending);
    }
  }
  pending += decoder.end();
  if (pending !== '') yield pending.endsWith('\r') ? pending.slice(0, -1) : pending;
}

/**
 * A bill read as it arrives. Iterate it once with `for await`; `columns` is known after the
 * first row, `summary` once the iteration finished. Breaking out of the loop releases the
 * connection.
 */
export class BillStream implements AsyncIterable<BillRow> {
  private readonly reader = new BillLineReader();
  private started = false;

  constructor(
    private readonly source: AsyncIterable<Buffer | string>,
    private readonly options: BillStreamOptions = {},
  ) {}

  get columns(): readonly string[] | undefined {
    return this.reader.columns;
  }

  /** The summary line, available once every row was read. */
  get summary(): BillSummary | undefined {
    return this.reader.summary;
  }

  /** Records read so far. */
  get rowCount(): number {
    return this.reader.rowCount;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<BillRow, void, undefined> {
    if (this.started) {
      throw new WechatPayProtocolError('a bill stream can be read only once', '');
    }
    this.started = true;
    let completed = false;
    let failure: unknown;
    try {
      for await (const line of billLines(this.source, this.options)) {
        const row = this.reader.line(line);
        if (row !== undefined) yield row;
      }
      this.reader.finish();
      completed = true;
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      this.options.onClose?.({ completed, ...(failure !== undefined ? { error: failure } : {}) });
    }
  }
}

/** Parses a bill from a stream of bytes (a file, a gunzip stream), row by row. */
export function parseBillStream(
  source: AsyncIterable<Buffer | string>,
  options: BillStreamOptions = {},
): BillStream {
  return new BillStream(source, options);
}

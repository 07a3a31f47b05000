import { parseArgs } from './cli-args';

describe('bill:reconcile arguments', () => {
  it('takes --date as one or two arguments, and none for yesterday', () => {
    expect(parseArgs(['--date', '20261130'])).toEqual({ date: '20261130' });
    expect(parseArgs(['--date=20261130'])).toEqual({ date: '20261130' });
    expect(parseArgs([])).toEqual({});
  });

  it('refuses a date that is not a calendar date, a missing value and unknown arguments', () => {
    expect(parseArgs(['--date', '20261131'])).toEqual({
      error: '--date must be a calendar date written yyyyMMdd, got "20261131"',
    });
    expect(parseArgs(['--date'])).toEqual({ error: '--date needs a value, yyyyMMdd' });
    expect(parseArgs(['20261130'])).toEqual({ error: 'unknown argument "20261130"' });
  });
});

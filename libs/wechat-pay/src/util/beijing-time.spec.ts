import { formatBeijingDate, parseBeijingDateTime } from './beijing-time';

describe('parseBeijingDateTime', () => {
  it.each([
    ['2024-03-01 12:34:56', '2024-03-01T04:34:56.000Z'],
    ['2024-03-01 00:00:00', '2024-02-29T16:00:00.000Z'],
    ['2024-02-29 23:59:59', '2024-02-29T15:59:59.000Z'],
    ['2000-02-29 08:00:00', '2000-02-29T00:00:00.000Z'],
  ])('reads %s as Beijing time', (text, iso) => {
    expect(parseBeijingDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2023-02-29 12:00:00',
    '1900-02-29 12:00:00',
    '2024-04-31 12:00:00',
    '2024-13-01 12:00:00',
    '2024-00-10 12:00:00',
    '2024-01-01 24:00:00',
    '2024-01-01 12:60:00',
    '2024-01-01 12:00:60',
    '2024-01-01T12:00:00',
    '2024-1-01 12:00:00',
    '20240101120000',
    '',
  ])('refuses %p', (text) => {
    expect(parseBeijingDateTime(text)).toBeUndefined();
  });
});

describe('formatBeijingDate', () => {
  it('gives the Beijing calendar date, which is a day ahead of UTC from 16:00 UTC', () => {
    expect(formatBeijingDate(new Date('2024-03-01T15:59:59Z'))).toBe('20240301');
    expect(formatBeijingDate(new Date('2024-03-01T16:00:00Z'))).toBe('20240302');
  });
});

import { NOTIFY_MAX_SENDS, NOTIFY_RETRY_GAPS_MS, retryGapMs } from './notifier';

describe('notification retry schedule', () => {
  it('sends 16 times, the last one 24 h 4 min after the first', () => {
    expect(NOTIFY_MAX_SENDS).toBe(16);
    const total = NOTIFY_RETRY_GAPS_MS.reduce((sum, gap) => sum + gap, 0);
    expect(total).toBe((24 * 60 + 4) * 60 * 1000);
  });

  it('waits 15 s after the first send and 6 h after the fifteenth, then gives up', () => {
    expect(retryGapMs(1, 1)).toBe(15_000);
    expect(retryGapMs(4, 1)).toBe(180_000);
    expect(retryGapMs(15, 1)).toBe(6 * 3600_000);
    expect(retryGapMs(16, 1)).toBeUndefined();
  });

  it('scales every gap by the time scale', () => {
    expect(retryGapMs(1, 0.001)).toBe(15);
    expect(retryGapMs(10, 0.001)).toBe(3600);
  });
});

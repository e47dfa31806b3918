import { formatBytes, formatCount, formatFraction } from '../components/format';
import { visibleRange } from '../components/WindowedList';

describe('visibleRange', () => {
  it('renders only the rows in view plus the overscan', () => {
    // 10 000 rows of 44 px, a 440 px viewport scrolled to row 100
    expect(visibleRange(4400, 440, 44, 10000, 5)).toEqual({
      start: 95,
      end: 116
    });
  });

  it('clamps at both ends', () => {
    expect(visibleRange(0, 440, 44, 10000, 5)).toEqual({ start: 0, end: 16 });
    expect(visibleRange(44 * 9999, 440, 44, 10000, 5)).toEqual({
      start: 9994,
      end: 10000
    });
    expect(visibleRange(0, 440, 44, 3, 5)).toEqual({ start: 0, end: 3 });
  });

  it('is empty for an empty list', () => {
    expect(visibleRange(100, 440, 44, 0)).toEqual({ start: 0, end: 0 });
  });
});

describe('format', () => {
  it('formats sizes in decimal units', () => {
    expect(formatBytes(null)).toBe('\u2014');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(2400000)).toBe('2.40 MB');
    expect(formatBytes(114e9)).toBe('114 GB');
  });

  it('formats counts', () => {
    expect(formatCount(20000)).toBe('20,000');
    expect(formatCount(undefined)).toBe('\u2014');
  });

  it('never rounds a partial copy up to 100%', () => {
    expect(formatFraction(1)).toBe('100%');
    expect(formatFraction(0.999)).toBe('99%');
    expect(formatFraction(0.5)).toBe('50%');
    expect(formatFraction(0)).toBe('0%');
  });
});

import { beijingTime, escapeHtml, layout, spacedBeijingTime } from './html';

describe('escapeHtml', () => {
  it('turns every character that could open a tag or end an attribute into an entity', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \`z\``)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;z&#96;',
    );
  });

  it('leaves Chinese text and ordinary punctuation as they are', () => {
    expect(escapeHtml('模拟商品-咖啡 (大杯), 1/2')).toBe('模拟商品-咖啡 (大杯), 1/2');
  });

  it('escapes an already escaped entity again rather than trusting it', () => {
    expect(escapeHtml('&lt;b&gt;')).toBe('&amp;lt;b&amp;gt;');
  });

  it('renders numbers as text and undefined or null as nothing', () => {
    expect(escapeHtml(200)).toBe('200');
    expect(escapeHtml(undefined)).toBe('');
    expect(escapeHtml(null)).toBe('');
  });
});

describe('Beijing time', () => {
  it('shows an instant as the wall time in Beijing', () => {
    expect(beijingTime('2024-05-01T04:34:56.000Z')).toBe('2024-05-01 12:34:56');
  });

  it('spells out WeChat compact times such as time_end', () => {
    expect(spacedBeijingTime('20240501123456')).toBe('2024-05-01 12:34:56');
  });
});

describe('layout', () => {
  it('makes a phone-sized, self-contained page with an escaped title', () => {
    const page = layout('<Pay>', '<main></main>');
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).toContain('<title>&lt;Pay&gt;</title>');
    expect(page).not.toMatch(/(src|href)="https?:/);
  });
});

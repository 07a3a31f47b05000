import { formatBeijingTime } from 'nestjs-wechat-pay-v2/protocol';

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Makes any value safe as HTML text or as a quoted attribute value. Order descriptions, attach and
 * notification replies come from merchants, so every value a page shows goes through here.
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ENTITIES[c]);
}

/** WeChat's compact Beijing time ("20240501123456") spelled out: "2024-05-01 12:34:56". */
export function spacedBeijingTime(compact: string): string {
  return compact.replace(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/, '$1-$2-$3 $4:$5:$6');
}

/** An ISO time (simulator clock) as WeChat's Beijing wall time, "2024-05-01 12:34:56". */
export function beijingTime(iso: string): string {
  return spacedBeijingTime(formatBeijingTime(new Date(iso)));
}

const STYLE = `
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:15px/1.45 -apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#191919;background:#ededed}
main{max-width:960px;margin:0 auto;padding:12px}
h1{font-size:18px;margin:4px 0 12px}
h2{font-size:16px;margin:20px 0 8px}
.banner{background:#2e2e2e;color:#fff;padding:8px 12px;font-size:13px}
.banner strong{color:#07c160}
.card{background:#fff;border-radius:8px;padding:16px;margin-bottom:12px}
.muted{color:#7f7f7f;font-size:13px}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
button{font:inherit;border:0;border-radius:6px;padding:12px 16px;cursor:pointer}
button:disabled{opacity:.5;cursor:default}
table{width:100%;border-collapse:collapse;background:#fff;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top}
th{background:#f7f7f7;font-weight:600}
.scroll{overflow-x:auto;border-radius:8px}
.ok{color:#06ad56}.bad{color:#d93025}.warn{color:#b06000}
@media (max-width:600px){main{padding:8px}th,td{padding:5px 6px}}
`;

/** The shell shared by the simulator's pages: phone-friendly, self-contained (no external assets). */
export function layout(title: string, body: string, extraStyle = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}${extraStyle}</style>
</head>
<body>
<div class="banner"><strong>WeChat Pay v2 simulator</strong> · local test tool, not WeChat</div>
${body}
</body>
</html>
`;
}

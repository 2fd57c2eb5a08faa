/** The admin page's stylesheet, served as /page/app.css (style-src 'self': no inline styles). */
export const PAGE_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f5f6f8; }
body { margin: 0; }
header { display: flex; justify-content: space-between; align-items: center; padding: 0.6rem 1.5rem;
  background: #27385d; color: #fff; }
header h1 { font-size: 1.2rem; margin: 0; }
main { max-width: 70rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
section { background: #fff; border: 1px solid #d8dce4; border-radius: 6px; padding: 0.8rem 1.2rem 1.2rem;
  margin: 1rem 0; }
h2 { font-size: 1.05rem; margin: 0.2rem 0 0.8rem; }
form { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.8rem; }
input { padding: 0.35rem 0.5rem; border: 1px solid #b8bfcc; border-radius: 4px; font: inherit; }
#path { flex: 1; min-width: 24rem; font-family: ui-monospace, monospace; }
button { padding: 0.35rem 0.9rem; border: 1px solid #27385d; border-radius: 4px; background: #27385d; color: #fff;
  font: inherit; cursor: pointer; }
button.secondary { background: #fff; color: #27385d; }
button.danger { background: #a3261b; border-color: #a3261b; }
.hint { color: #5b6475; font-size: 0.9rem; }
.error { color: #a3261b; }
#notice:empty { display: none; }
#notice { padding: 0.5rem 0.8rem; background: #e7f1e8; border: 1px solid #9cc5a1; border-radius: 4px; }
#notice.failed { background: #f8e5e3; border-color: #d89a93; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #e3e6ec; vertical-align: top; }
td.mono, dd.mono { font-family: ui-monospace, monospace; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0 0 0.8rem; }
dt { font-weight: 600; }
dd { margin: 0; }
.ok { color: #23703a; font-weight: 600; }
.bad { color: #a3261b; font-weight: 600; }
.actions { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
.confirm { margin-top: 1rem; padding: 0.8rem 1rem; border: 2px solid #a3261b; border-radius: 6px; background: #fff8f7; }
.confirm ul { font-family: ui-monospace, monospace; font-size: 0.85rem; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.chart h3 { font-size: 0.95rem; margin: 0 0 0.3rem; }
.chart svg { width: 100%; height: 12rem; background: #fafbfc; border: 1px solid #e3e6ec; }
.chart .axis { stroke: #b8bfcc; stroke-width: 1; }
.chart .bar-hit { fill: #3b7d4f; }
.chart .o0 { fill: #3b7d4f; } .chart .o1 { fill: #27385d; } .chart .o2 { fill: #c77d1a; }
.chart .o3 { fill: #8a3ea0; } .chart .o4 { fill: #2b8ca3; } .chart .o5 { fill: #7a7f8a; }
.legend { display: flex; gap: 1rem; font-size: 0.85rem; flex-wrap: wrap; padding: 0; list-style: none; }
.legend .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem; vertical-align: middle; }
.legend .o0 { background: #3b7d4f; } .legend .o1 { background: #27385d; } .legend .o2 { background: #c77d1a; }
.legend .o3 { background: #8a3ea0; } .legend .o4 { background: #2b8ca3; } .legend .o5 { background: #7a7f8a; }
`;

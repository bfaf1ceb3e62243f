"""The stylesheet and script inlined into `dispatcher trace html` pages (no network, no CDN)."""

from __future__ import annotations

__all__ = ["CSP", "ERROR_HOOK", "SCRIPT", "STYLE"]

# Nothing may be fetched: model output is shown on this page and must not be able to call home.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

# First script on the page: records any script error on <html> so a browser test can see it.
ERROR_HOOK = (
    "window.addEventListener('error',function(e){var d=document.documentElement.dataset;"
    "d.jsErrors=(d.jsErrors||'')+String(e.message)+'\\n';});"
)

STYLE = """
:root{--fg:#1d1f23;--dim:#6b7079;--line:#e3e5e9;--bg:#fff;--soft:#f6f7f9;--esc:#b26a00;
--escbg:#fff6e0;--bad:#c62828;--good:#2e7d32;--model:#3559c7;--tool:#2e7d32;--route:#8e3fb3;
--det:#b26a00}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0;padding:20px 28px 60px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:26px 0 8px}
.dim{color:var(--dim)}.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;
font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-word;background:var(--soft);padding:8px 10px;
border-radius:6px;margin:6px 0;max-height:320px;overflow:auto}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;
background:var(--soft);border:1px solid var(--line)}
.badge.ok{color:var(--good);border-color:#b9dfbb}.badge.bad{color:var(--bad);border-color:#f2b8b5}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:14px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:18px}
.costbar{height:10px;background:var(--soft);border-radius:5px;margin-top:6px;width:260px;
overflow:hidden;border:1px solid var(--line)}
.costbar span{display:block;height:100%;background:var(--good)}
.episode{border:2px solid var(--esc);background:var(--escbg);border-radius:8px;
padding:10px 14px;margin:10px 0}
.episode h3{margin:0 0 6px;font-size:15px}
.episode dl{display:grid;grid-template-columns:90px 1fr;gap:4px 10px;margin:6px 0 0}
.episode dt{font-weight:600;color:var(--esc)}.episode dd{margin:0;white-space:pre-wrap}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{font-size:12px;color:var(--dim);font-weight:600}
.controls{display:flex;flex-wrap:wrap;gap:14px;align-items:center;padding:8px 0;
position:sticky;top:0;background:var(--bg);border-bottom:1px solid var(--line);z-index:2}
.controls input[type=search]{padding:4px 8px;border:1px solid var(--line);border-radius:6px;
width:240px}
.tree summary{cursor:pointer;list-style:none;display:block}
.tree summary::-webkit-details-marker{display:none}
.node>:not(summary){margin-left:18px}
.node>summary .lbl:before{content:'▾ ';color:var(--dim)}
.node:not([open])>summary .lbl:before{content:'▸ '}
.leaf>summary .lbl:after{content:' …';color:var(--dim)}
.row{display:grid;grid-template-columns:minmax(0,1fr) 300px;gap:12px;align-items:center;
padding:2px 4px;border-radius:4px}
.row:hover{background:var(--soft)}
.lbl{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar{position:relative;height:12px;background:var(--soft);border-radius:3px}
.bar span{position:absolute;top:0;height:100%;min-width:2px;border-radius:2px;
background:var(--dim)}
.row.k-model_call .bar span{background:var(--model)}
.row.k-tool_call .bar span{background:var(--tool)}
.row.k-escalation .bar span{background:var(--esc)}.row.k-agent .bar span{background:#9aa3b5}
.row.err .bar span{background:var(--bad)}
.k-model_call .tag{color:var(--model)}.k-tool_call .tag{color:var(--tool)}
.k-route .tag{color:var(--route)}.k-detector .tag{color:var(--det)}
.tag{font-weight:600}.err .lbl,.row.err .tag{color:var(--bad)}
.k-escalation>summary .row,.row.k-escalation{background:var(--escbg);
outline:2px solid var(--esc)}
.agent-head{font-weight:600}
.detail{margin:0 0 6px 24px}
.hidden{display:none!important}
.hl{background:#fff59d}
"""

# Filters (by kind, problems only, text search) and expand/collapse for long runs.
SCRIPT = """
(function(){
var rows=Array.prototype.slice.call(document.querySelectorAll('[data-kind]'));
var boxes=Array.prototype.slice.call(document.querySelectorAll('input[data-filter]'));
var onlyProblems=document.getElementById('only-problems');
var search=document.getElementById('search');
function apply(){
  var hide={};boxes.forEach(function(b){if(!b.checked){hide[b.dataset.filter]=true;}});
  var q=(search.value||'').toLowerCase();
  rows.forEach(function(r){
    var k=r.dataset.kind;
    var off=hide[k]||(onlyProblems.checked&&r.dataset.problem!=='1'&&k!=='agent')||
      (q&&k!=='agent'&&r.textContent.toLowerCase().indexOf(q)<0);
    r.classList.toggle('hidden',!!off);
  });
  var shown=rows.filter(function(r){
    return r.dataset.kind!=='agent'&&!r.classList.contains('hidden');});
  document.getElementById('shown').textContent=String(shown.length);
}
boxes.forEach(function(b){b.addEventListener('change',apply);});
onlyProblems.addEventListener('change',apply);
search.addEventListener('input',apply);
function all(open){document.querySelectorAll('details.node').forEach(function(d){d.open=open;});}
document.getElementById('expand').addEventListener('click',function(){all(true);});
document.getElementById('collapse').addEventListener('click',function(){all(false);});
document.querySelectorAll('a[data-jump]').forEach(function(a){
  a.addEventListener('click',function(){
    var t=document.getElementById(a.dataset.jump);var p=t;
    while(p){if(p.tagName==='DETAILS'){p.open=true;}p=p.parentElement;}
    if(t){t.classList.add('hl');}
  });
});
apply();
document.documentElement.dataset.ready='1';
})();
"""

#pragma once
// The one stylesheet of the pages (served at <ui>/-/style.css): system fonts, a readable
// measure from phone to 4K, light and dark schemes. No external asset.

#include <string_view>

namespace stoa::web {

inline constexpr std::string_view k_style =
    R"css(:root{color-scheme:light dark;--fg:#1d1f23;--bg:#fbfbfa;--mute:#5d6470;--line:#d9dce1;--accent:#0b6bcb;--code:#f0f1f3;--warn:#a4400b;--bad:#b3261e}
@media (prefers-color-scheme:dark){:root{--fg:#e6e7ea;--bg:#15171a;--mute:#a0a6b0;--line:#30343a;--accent:#6cb2ff;--code:#1f2227;--warn:#f0a05a;--bad:#ff8a80}}
*{box-sizing:border-box}
html{font-size:clamp(15px,0.55vw + 12px,22px)}
body{margin:0;background:var(--bg);color:var(--fg);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding-top:.75rem;padding-bottom:.75rem;border-bottom:1px solid var(--line)}
nav a{margin-right:1rem}
a{color:var(--accent);text-decoration:none;overflow-wrap:anywhere}
a:hover{text-decoration:underline}
.brand{font-weight:700;font-size:1.2rem;color:var(--fg)}
form[role=search]{display:flex;gap:.5rem;flex:1 1 16rem}
input[type=search]{flex:1;min-width:0;font:inherit;padding:.35rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:var(--bg);color:var(--fg)}
button{font:inherit;padding:.35rem .8rem;border:1px solid var(--line);border-radius:.4rem;background:var(--code);color:var(--fg)}
h1{font-size:1.6rem;margin:1.2rem 0 .6rem;overflow-wrap:anywhere}
h2{font-size:1.25rem;margin:1.6rem 0 .5rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
pre,code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.9em;background:var(--code);border-radius:.3rem}
code{padding:0 .25rem;overflow-wrap:anywhere}
pre{padding:.6rem .8rem;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}
pre.copy{user-select:all;-webkit-user-select:all;border-left:3px solid var(--accent)}
pre.gomod{max-height:30rem;overflow:auto}
table{border-collapse:collapse;width:100%;margin:.4rem 0;display:block;overflow-x:auto}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{color:var(--mute);font-weight:600}
tr.selected td{background:var(--code)}
table.versions td:nth-child(-n+3),table.versions th{white-space:nowrap}
.mark{display:inline-block;margin-right:.5rem;color:var(--warn)}
.mark-vulnerable,.mark-deny{color:var(--bad)}
.warn{color:var(--warn)}
ul.totals{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1.5rem}
ul.totals strong{font-size:1.4rem}
ol.results li{margin:.3rem 0}
.meta,time,footer,.count{color:var(--mute)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dl.facts dt{color:var(--mute)}
dl.facts dd{margin:0;overflow-wrap:anywhere;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
.pager a{margin-right:1rem}
nav.tabs{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.8rem 0}
section.snippet:target h2{color:var(--accent)}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:1rem}
figure.chart{margin:0}
figure.chart svg{width:100%;height:4rem;display:block}
svg .bg{fill:var(--code)}
svg .line{fill:none;stroke:var(--accent);stroke-width:1.5;vector-effect:non-scaling-stroke}
figcaption{font-size:.85rem;color:var(--mute)}
footer{margin-top:3rem;padding-top:1rem;padding-bottom:2rem;border-top:1px solid var(--line);font-size:.85rem}
)css";

}  // namespace stoa::web

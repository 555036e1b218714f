"""One self-contained HTML page: sections of titled Plotly figures, tables and notes, with
plotly.js inlined once, so the file opens offline and can be mailed or archived alone.

Zooming into a raster of thousands of neurons is where interactivity pays, hence Plotly
(its JS ships inside the PyPI package). A script error on the page is shown in a red box
at the top (`#report-errors`) instead of leaving a figure silently blank.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: figure settings for every plot: no link to plotly's cloud, a PNG button for papers
_CONFIG = {"displaylogo": False, "responsive": True,
           "toImageButtonOptions": {"format": "png", "scale": 2}}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.note{color:#555;font-size:.9em}.figure{margin:1em 0}
#report-errors{display:none;background:#fdd;border:1px solid #c00;padding:.5em}
"""

#: collects script errors and console.error calls into #report-errors
_ERROR_HOOK = """
window.__reportErrors=[];
function __reportError(m){window.__reportErrors.push(String(m));
 var e=document.getElementById('report-errors');
 if(e){e.style.display='block';e.textContent='Script errors: '+window.__reportErrors.join(' | ');}}
window.addEventListener('error',function(ev){__reportError(ev.message);});
(function(){var c=console.error;console.error=function(){__reportError(
 Array.prototype.join.call(arguments,' '));c.apply(console,arguments);};})();
"""


@dataclass
class Page:
    """A report being assembled: call the add_* methods in reading order, then `write`."""

    title: str
    subtitle: str = ""
    parts: list[str] = field(default_factory=list)
    #: per figure, in order: its title, and its traces drawn as SVG and with WebGL
    figures: list[tuple[str, int, int]] = field(default_factory=list)

    def section(self, heading: str) -> None:
        self.parts.append(f"<h2>{html.escape(heading)}</h2>")

    def note(self, text: str) -> None:
        self.parts.append(f'<p class="note">{html.escape(text)}</p>')

    def figure(self, fig: Any, height: int | None = None) -> None:
        """A Plotly figure; its layout title (required) names it in the page."""
        title = fig.layout.title.text
        if not title:
            raise ValueError("every report figure needs a title")
        if height:
            fig.update_layout(height=height)
        fig.update_layout(template="plotly_white", margin=dict(t=60, b=50, l=70, r=30))
        div = fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG,
                          div_id=f"fig{len(self.figures)}")
        gl = sum(t.type.endswith("gl") for t in fig.data)
        self.figures.append((title, len(fig.data) - gl, gl))
        self.parts.append(f'<div class="figure">{div}</div>')

    def table(self, headers: list[str], rows: list[list[Any]],
              left: int = 1) -> None:
        """A table; the first `left` columns are text (left-aligned), the rest numbers."""
        def cell(tag: str, k: int, v: Any) -> str:
            cls = ' class="l"' if k < left else ""
            return f"<{tag}{cls}>{html.escape(_text(v))}</{tag}>"
        head = "".join(cell("th", k, h) for k, h in enumerate(headers))
        body = "".join("<tr>" + "".join(cell("td", k, v) for k, v in enumerate(r)) + "</tr>"
                       for r in rows)
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                          "</table>")

    def html(self) -> str:
        from plotly.offline import get_plotlyjs
        sub = f'<p class="note">{html.escape(self.subtitle)}</p>' if self.subtitle else ""
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style>"
                f"<script>{_ERROR_HOOK}</script>"
                f"<script>{get_plotlyjs()}</script></head><body>"
                f'<div id="report-errors"></div><h1>{html.escape(self.title)}</h1>{sub}'
                + "\n".join(self.parts) + "</body></html>\n")

    def write(self, path: "str | Path") -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path


def _text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)

"""``autoencoders report``: run the applications and write report.md and report.html.

The applications live in ``autoencoders.applications`` (``APPLICATIONS``: name -> run
function, in order; ``run_all(out_dir, *, only, quick, seed, progress)`` -> one result
dict per application: name, title, metrics, table_markdown, figures (paths relative to
out_dir), command). This module only turns those results into documents: Markdown with
relative image links, and one HTML page whose images are relative links too, or embedded
as data URIs with ``--embed`` (one file to send around).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import json
import os
import re
import shlex
import sys
from collections.abc import Callable
from typing import Any

from .common import CliError, HelpFormatter, ProgressBar, unknown_name

EPILOG = """\
examples:
  autoencoders report                          # every application, full size (long)
  autoencoders report --quick --out report/    # small data, few epochs: minutes
  autoencoders report --only denoising generation --quick
  autoencoders report --quick --embed          # report.html with the images inside
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        parents=parents,
        help="run the applications and write a Markdown and HTML report",
        description="Run the applications of autoencoders (dimensionality reduction, "
        "denoising, watermark removal, colourisation, super-resolution, clustering, image "
        "search, generation, anomaly detection, transfer learning) and write report.md and "
        "report.html with "
        "every figure and table.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--out", default="report", metavar="DIR", help="default report/")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these applications (by name)"
    )
    parser.add_argument("--quick", action="store_true", help="small data slices, few epochs")
    parser.add_argument("--seed", type=int, default=0, help="default 0")
    parser.add_argument(
        "--embed", action="store_true", help="embed the images in report.html (data URIs)"
    )
    parser.set_defaults(run=run)
    return parser


def load_applications() -> tuple[
    dict[str, Callable[..., dict[str, Any]]], Callable[..., list[dict[str, Any]]]
]:
    """(APPLICATIONS, run_all) from ``autoencoders.applications``."""
    try:
        from ..applications import APPLICATIONS, run_all
    except ImportError as error:
        raise CliError(f"the applications are not available: {error}") from None
    except Exception as error:  # noqa: BLE001 - a broken install or edit: one line, not a traceback
        raise CliError(
            f"the applications package failed to import: {type(error).__name__}: {error} "
            "(AUTOENCODERS_TRACEBACK=1 shows where)"
        ) from error
    return APPLICATIONS, run_all


def run(args: argparse.Namespace) -> int:
    applications, run_all = load_applications()
    for name in args.only or ():
        if name not in applications:
            raise unknown_name("application", name, list(applications))
    os.makedirs(args.out, exist_ok=True)
    command = "autoencoders report " + shlex.join(_command_options(args))
    bar = ProgressBar(1.0, "report", args.quiet)
    last_stage: list[str | None] = [None]

    def progress(stage: str, fraction: float):
        bar.update(fraction, label=stage)
        if not bar.enabled and not args.quiet and stage != last_stage[0]:
            print(f"{stage} ...", file=sys.stderr, flush=True)
        last_stage[0] = stage

    try:
        results = run_all(
            args.out, only=args.only, quick=args.quick, seed=args.seed, progress=progress
        )
    except (CliError, KeyboardInterrupt):
        raise
    except Exception as error:  # noqa: BLE001 - say which application failed, in one line
        raise CliError(
            f"{last_stage[0] or 'the report'} failed: {type(error).__name__}: {error} "
            "(AUTOENCODERS_TRACEBACK=1 shows where)"
        ) from error
    finally:
        bar.close()
    markdown_path = os.path.join(args.out, "report.md")
    html_path = os.path.join(args.out, "report.html")
    header = {
        "command": command.strip(),
        "date": datetime.date.today().isoformat(),
        "quick": args.quick,
    }
    with open(markdown_path, "w", encoding="utf-8") as file:
        file.write(render_markdown(results, header, args.out))
    with open(html_path, "w", encoding="utf-8") as file:
        file.write(render_html(results, header, args.out, embed=args.embed))
    for result in results:
        print(f"{result['name']}: {format_metrics_inline(result.get('metrics', {}))}")
    print(f"wrote {markdown_path}\nwrote {html_path}")
    return 0


def _command_options(args) -> list[str]:
    options = []
    if args.out != "report":
        options += ["--out", args.out]
    if args.only:
        options += ["--only", *args.only]
    if args.quick:
        options.append("--quick")
    if args.seed:
        options += ["--seed", str(args.seed)]
    return options


# ---------------------------------------------------------------------------- metrics
def format_value(value: Any) -> str:
    """A metric for people: floats to 4 significant digits, the rest as JSON."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return f"{float(value):.4g}"
    if isinstance(value, (int, str)) or type(value).__name__.startswith("int"):
        return str(value)
    return json.dumps(value, default=str)


def flat_metrics(metrics: dict, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted name, formatted value) pairs of a possibly nested metrics dict."""
    pairs = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            pairs += flat_metrics(value, name + ".")
        else:
            pairs.append((name, format_value(value)))
    return pairs


def format_metrics_inline(metrics: dict, limit: int = 4) -> str:
    pairs = flat_metrics(metrics)
    text = ", ".join(f"{name} {value}" for name, value in pairs[:limit])
    return text + (", ..." if len(pairs) > limit else "")


# ---------------------------------------------------------------------------- Markdown
def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", name.lower())


def _intro(header) -> str:
    text = f"Made by `{header['command']}` on {header['date']}."
    if header["quick"]:
        text += (
            " Quick mode: small slices of the data and few epochs, so the numbers show "
            "that each method works, not how well it can do."
        )
    return text


def render_markdown(results: list[dict], header: dict, out_dir: str) -> str:
    """report.md: a contents list, then per application its command, table, metrics, figures."""
    lines = ["# What autoencoders are for", "", _intro(header), ""]
    for number, result in enumerate(results, start=1):
        lines.append(f"{number}. [{result['title']}](#{_anchor(result['name'])})")
    for number, result in enumerate(results, start=1):
        lines += ["", f'<a id="{_anchor(result["name"])}"></a>', ""]
        lines += [f"## {number}. {result['title']}", ""]
        if result.get("command"):
            lines += ["```bash", result["command"], "```", ""]
        if result.get("table_markdown"):
            lines += [result["table_markdown"].strip(), ""]
        metrics = flat_metrics(result.get("metrics", {}))
        if metrics:
            lines += ["| metric | value |", "|---|---|"]
            lines += [f"| {name} | {value} |" for name, value in metrics]
            lines.append("")
        for figure in result.get("figures", []):
            link = figure.replace(os.sep, "/")
            if os.path.exists(os.path.join(out_dir, figure)):
                lines += [f"![{result['title']}: {os.path.basename(figure)}]({link})", ""]
            else:
                lines += [f"*(figure missing: {link})*", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------- HTML
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
img { max-width: 100%; display: block; margin: 1rem 0; }
.missing { color: #a00; }
"""


def inline_markdown(text: str) -> str:
    """HTML for one line of Markdown: escaped, with `code`, **bold** and *italic*."""
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![*\w])\*([^*]+)\*(?!\w)", r"<em>\1</em>", text)


def _cells(line: str) -> list[str]:
    """The cells of a pipe-table row, keeping leading spaces beyond the first (indents)."""
    line = line.strip().removeprefix("|").removesuffix("|")
    cells = [cell.removeprefix(" ").rstrip() for cell in re.split(r"(?<!\\)\|", line)]
    return [cell.replace("\\|", "|") for cell in cells]


def _cell(tag: str, cell: str) -> str:
    indent = len(cell) - len(cell.lstrip())
    style = f' style="padding-left: {0.6 + 0.6 * indent:g}rem"' if indent else ""
    return f"<{tag}{style}>{inline_markdown(cell.strip())}</{tag}>"


def markdown_to_html(text: str) -> str:
    """HTML for the Markdown of an application's table: pipe tables and paragraphs."""
    parts: list[str] = []
    block: list[str] = []

    def flush():
        if not block:
            return
        if block[0].lstrip().startswith("|"):
            rows = [_cells(line) for line in block]
            separator = len(rows) > 1 and all(
                re.fullmatch(r":?-+:?", c.strip()) for c in rows[1] if c.strip()
            )
            head, body = (rows[0], rows[2:]) if separator else (None, rows)
            html_rows = []
            if head:
                cells = "".join(_cell("th", cell) for cell in head)
                html_rows.append(f"<thead><tr>{cells}</tr></thead>")
            html_rows.append(
                "<tbody>"
                + "".join(
                    "<tr>" + "".join(_cell("td", cell) for cell in row) + "</tr>" for row in body
                )
                + "</tbody>"
            )
            parts.append("<table>" + "".join(html_rows) + "</table>")
        else:
            parts.append("<p>" + " ".join(inline_markdown(line) for line in block) + "</p>")
        block.clear()

    for line in text.splitlines():
        is_table = line.lstrip().startswith("|")
        if not line.strip() or (block and is_table != block[0].lstrip().startswith("|")):
            flush()
        if line.strip():
            block.append(line)
    flush()
    return "\n".join(parts)


def _image_source(out_dir: str, figure: str, embed: bool) -> str | None:
    path = os.path.join(out_dir, figure)
    if not os.path.exists(path):
        return None
    if not embed:
        return html.escape(figure.replace(os.sep, "/"))
    kind = {".png": "png", ".svg": "svg+xml", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif"}
    mime = "image/" + kind.get(os.path.splitext(figure)[1].lower(), "png")
    with open(path, "rb") as file:
        return f"data:{mime};base64," + base64.b64encode(file.read()).decode("ascii")


def render_html(results: list[dict], header: dict, out_dir: str, embed: bool = False) -> str:
    """report.html: the same content as report.md, as one page."""
    body = [f"<h1>What autoencoders are for</h1>\n<p>{inline_markdown(_intro(header))}</p>"]
    body.append(
        "<ol>"
        + "".join(
            f'<li><a href="#{_anchor(r["name"])}">{html.escape(r["title"])}</a></li>'
            for r in results
        )
        + "</ol>"
    )
    for number, result in enumerate(results, start=1):
        title = html.escape(result["title"])
        section = [f'<section id="{_anchor(result["name"])}">', f"<h2>{number}. {title}</h2>"]
        if result.get("command"):
            section.append(f"<pre><code>{html.escape(result['command'])}</code></pre>")
        if result.get("table_markdown"):
            section.append(markdown_to_html(result["table_markdown"]))
        metrics = flat_metrics(result.get("metrics", {}))
        if metrics:
            rows = "".join(
                f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
                for name, value in metrics
            )
            section.append(f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>")
        for figure in result.get("figures", []):
            source = _image_source(out_dir, figure, embed)
            if source is None:
                section.append(f'<p class="missing">figure missing: {html.escape(figure)}</p>')
            else:
                section.append(f'<img src="{source}" alt="{title}: {html.escape(figure)}">')
        section.append("</section>")
        body.append("\n".join(section))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>What autoencoders are for</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )

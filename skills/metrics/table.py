"""The summarize_results text tables, byte-compatible with the reference (eval-metrics.md 11).

Layout: a title `` <name> `` centred in dashes over the table width, a header, one row per printed
mode; cells are left-justified to their column width and joined by `` | `` (trailing spaces kept).
Percent cells get `` ± <100*std>%`` when the mode has ``<metric>_statistics``; with ``show_ci`` they
also get `` [<low>%, <high>%]`` from ``<metric>_ci95`` (never in the default table).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from skills.metrics.base import Metrics
from skills.metrics.provenance import WORDING_KEY

MODE_COLUMN = "evaluation_mode"


def _std(mode: Dict[str, Any], metric: str) -> Optional[float]:
    stats = mode.get(f"{metric}_statistics")
    return stats.get("std_dev_across_runs") if isinstance(stats, dict) else None


def format_percent(mode: Dict[str, Any], metric: str, show_ci: bool) -> str:
    text = f"{mode[metric]:.2f}%"
    std = _std(mode, metric)
    if std is not None:
        text += f" ± {100 * std:.2f}%"
    ci = mode.get(f"{metric}_ci95")
    if show_ci and isinstance(ci, dict):
        text += f" [{ci['low']:.2f}%, {ci['high']:.2f}%]"
    return text


def format_int(mode: Dict[str, Any], metric: str) -> str:
    std = _std(mode, metric)
    return f"{int(mode[metric])} ± {std:.2f}" if std is not None else str(int(mode[metric]))


def format_float(mode: Dict[str, Any], metric: str) -> str:
    """A score that is not a percent (BLEU): two decimals."""
    std = _std(mode, metric)
    return f"{float(mode[metric]):.2f} ± {std:.2f}" if std is not None else f"{float(mode[metric]):.2f}"


def format_default(mode: Dict[str, Any], metric: str, show_ci: bool) -> Optional[str]:
    """Formatting of metric types without a column list: floats as percents, dicts hidden."""
    value = mode[metric]
    if isinstance(value, float):
        return format_percent(mode, metric, show_ci)
    if isinstance(value, dict):
        return None
    if isinstance(value, list):
        return str(tuple(value))
    return str(value)


def render_table(
    name: str,
    metrics: Metrics,
    modes: List[str],
    columns: Optional[Dict[str, str]],
    show_ci: bool = False,
    hidden: Sequence[str] = (),
) -> List[str]:
    """Lines of one table (title, header, rows); ``columns`` maps metric -> "int" | "percent" | "float";
    ``hidden`` keys are never printed. A ``prompt_wording`` mark (skills' own prompt words, see
    ``skills.metrics.provenance``) is always the last column, so such a table cannot pass for the
    reference's."""
    modes = [m for m in modes if m in metrics]
    if not modes:
        return []
    candidates = list(columns) if columns is not None else list(metrics[modes[0]])
    candidates = [c for c in candidates if c not in hidden and c != WORDING_KEY]
    if all(WORDING_KEY in metrics[m] for m in modes):
        candidates.append(WORDING_KEY)
    present = [c for c in candidates if all(c in metrics[m] for m in modes)]
    cells: Dict[str, List[Optional[str]]] = {}
    for col in present:
        kind = columns.get(col) if columns is not None else None
        out: List[Optional[str]] = []
        for m in modes:
            if kind == "int":
                out.append(format_int(metrics[m], col))
            elif kind == "percent":
                out.append(format_percent(metrics[m], col, show_ci))
            elif kind == "float":
                out.append(format_float(metrics[m], col))
            else:
                out.append(format_default(metrics[m], col, show_ci))
        cells[col] = out
    mode_width = max([len(MODE_COLUMN)] + [len(m) for m in modes])
    widths = {c: max([len(c)] + [len(v) for v in cells[c] if v is not None]) for c in present}
    total = mode_width + sum(widths.values()) + 3 * len(widths)
    shown = [c for c in present if all(v is not None for v in cells[c])]
    lines = [f" {name} ".center(total, "-")]
    lines.append(" | ".join([MODE_COLUMN.ljust(mode_width)] + [c.ljust(widths[c]) for c in shown]))
    for i, m in enumerate(modes):
        row = [m.ljust(mode_width)] + [str(cells[c][i]).ljust(widths[c]) for c in shown]
        lines.append(" | ".join(row))
    return lines

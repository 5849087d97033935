"""Per target × prompt: confusion counts, P/R/F1, no-verdict, flips vs baseline, McNemar p, cost, latency."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from modtui.services.workbench import VerdictMatrix

HEADERS = ("target:prompt", "items", "TP", "FP", "FN", "TN", "P", "R", "F1", "no-v", "fixed", "regr",
           "McNemar p", "cost $", "p50 ms", "p95 ms", "runs")


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


class MetricsPanel(DataTable[Text]):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        for header in HEADERS:
            self.add_column(header, key=header)

    def show(self, matrix: VerdictMatrix) -> None:
        self.clear()
        for column in matrix.columns:
            m, flips = column.metrics, column.flips
            title = Text(column.title, style="bold" if column.is_baseline else "")
            if column.is_baseline:
                title.append(" (baseline)", style="dim")
            fixed = Text(str(len(flips.fixed)), style="green") if flips else Text("–", style="dim")
            regressed = (Text(str(len(flips.regressed)), style="bold red" if flips.regressed else "")
                         if flips else Text("–", style="dim"))
            p_value = _num(flips.mcnemar_p) if flips else "–"
            self.add_row(title, str(m.items), str(m.tp), str(m.fp), str(m.fn), str(m.tn), _num(m.precision),
                         _num(m.recall), _num(m.f1), str(m.no_verdict), fixed, regressed, p_value,
                         f"{m.cost_usd:.4f}", _num(m.latency_p50_ms, 1), _num(m.latency_p95_ms, 1),
                         ",".join(f"#{r}" for r in column.run_ids[-3:]), key="|".join(column.key))

"""Per target × prompt: confusion counts, P/R/F1 with 95 % intervals, no-verdict, flips vs baseline, McNemar p,
cost, latency; and, for the highlighted row, precision and recall against the confidence threshold and the
reliability diagram of its confidences."""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.binding import Binding
from textual_plotext import PlotextPlot

from modtui.analysis.calibration import Calibration
from modtui.analysis.intervals import with_interval
from modtui.analysis.significance import p_text
from modtui.analysis.sweep import Sweep
from modtui.services.decide import FrontierPoint
from modtui.services.workbench import VerdictColumn, VerdictMatrix
from modtui.terminal import one_line
from modtui.tui.text import cell
from modtui.tui.widgets.tables import Table

HEADERS = (
    "target:prompt",
    "items",
    "TP",
    "FP",
    "FN",
    "TN",
    "P [95% CI]",
    "R [95% CI]",
    "F1",
    "no-v",
    "fixed",
    "regr",
    "McNemar p",
    "cost $",
    "p50 ms",
    "p95 ms",
    "runs",
)
# A row is two lines: the target over the prompt, a rate over its interval. With one space after each cell
# (instead of DataTable's two) every column up to p95 fits in 120 columns.
TITLE = 24  # cells of a target or a prompt name (the whole title is in the captions under the plots)
GAP = " "
ROW_HEIGHT = 2


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def column_key(column: VerdictColumn) -> str:
    return "|".join(column.key)


PLOT_ROW = Binding.Group("Plot row", compact=True)


class MetricsPanel(Table):
    """One row per verdict column; the highlighted row survives a refresh and chooses the plot."""

    BINDINGS = [
        Binding(
            "up",
            "cursor_up",
            "Previous row",
            id="metrics.row_up",
            key_display="↑",
            group=PLOT_ROW,
            tooltip="Plot the row above",
        ),
        Binding(
            "down",
            "cursor_down",
            "Next row",
            id="metrics.row_down",
            key_display="↓",
            group=PLOT_ROW,
            tooltip="Plot the row below",
        ),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, cell_padding=0, **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        for header in HEADERS:
            self.add_column(header + GAP, key=header)

    def highlighted_key(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def show(self, matrix: VerdictMatrix, prefer: str | None = None) -> None:
        """Fill the rows; the cursor stays on the row it was on, else goes to `prefer`."""
        keep = self.highlighted_key() or prefer
        self.clear()
        for column in matrix.columns:
            self.add_row(*(_gap(c) for c in self._cells(column)), key=column_key(column), height=ROW_HEIGHT)
        keys = [column_key(c) for c in matrix.columns]
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False, scroll=False)

    @staticmethod
    def _cells(column: VerdictColumn) -> list[Text | str]:
        m, flips = column.metrics, column.flips
        title = _title(column)
        if m is None:  # not scored yet
            return [title, str(len(column.results)), *["…"] * (len(HEADERS) - 3), _runs(column)]
        fixed = Text(str(len(flips.fixed)), style="green") if flips else Text("–", style="dim")
        regressed = (
            Text(str(len(flips.regressed)), style="bold red" if flips.regressed else "")
            if flips
            else Text("–", style="dim")
        )
        return [
            title,
            str(m.items),
            str(m.tp),
            str(m.fp),
            str(m.fn),
            str(m.tn),
            _rate(m.precision, m.precision_ci),
            _rate(m.recall, m.recall_ci),
            _num(m.f1),
            str(m.no_verdict),
            fixed,
            regressed,
            p_text(flips.mcnemar_p) if flips else "–",
            f"{m.cost_usd:.4f}",
            _num(m.latency_p50_ms, 1),
            _num(m.latency_p95_ms, 1),
            _runs(column),
        ]


def _title(column: VerdictColumn) -> Text:
    """The target over the prompt (as the items table heads its columns); the baseline marked."""
    prompt = column.title[len(column.target) + 1 :] if column.title.startswith(column.target + ":") else column.title
    title = cell(column.target, "bold" if column.is_baseline else "")
    title.truncate(TITLE, overflow="ellipsis")
    second = cell(prompt)
    if column.is_baseline:
        second.append(" · base", style="dim")
    second.truncate(TITLE, overflow="ellipsis")
    return Text("\n").join([title, second])


def _rate(value: float | None, interval: tuple[float, float] | None) -> str:
    """``0.750`` over ``[0.53–0.89]``: the same figures as analysis.intervals.with_interval, on two lines."""
    return with_interval(value, interval, "–").replace(" [", "\n[", 1)


def _gap(value: Text | str) -> Text:
    text = value.copy() if isinstance(value, Text) else Text(value)
    return Text("\n").join(line + GAP for line in text.split("\n", allow_blank=True))


def _runs(column: VerdictColumn) -> str:
    return ",".join(f"#{r}" for r in column.run_ids[-3:])


class RatePlot(PlotextPlot):
    """A plot of rates (0..1 on the y axis) whose y ticks never outnumber its rows: two ticks on one row make
    plotext pick a label that changes from run to run."""

    def render(self) -> RenderResult:
        rows = max(self.size.height - 5, 1)  # title, frame, x tick labels and x label take the rest
        count = min(5, max(2, rows // 2 + 1))
        self.plt.yticks([i / (count - 1) for i in range(count)])
        return super().render()


class SweepPlot(RatePlot):
    """Precision and recall of the positive label when predicting it iff the model's score ≥ threshold."""

    def show(self, title: str, positive: str, result: Sweep | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"precision / recall of '{one_line(positive)}' vs threshold")
        plt.xlabel("threshold")
        plt.ylim(0, 1.02)
        if result is not None:
            points = [p for p in result.points if p.precision is not None and p.recall is not None]
            xs = [p.threshold for p in points]
            # no plotext legend: it is drawn inside the plot, over the curves; the caption carries it
            plt.plot(xs, [p.precision for p in points], marker="braille", color="cyan")
            plt.plot(xs, [p.recall for p in points], marker="braille", color="magenta")
            if result.best is not None:
                plt.vline(result.best.threshold, color="green")
            plt.xlim(min(xs + [0.5]), 1.0)
        self.refresh()


def sweep_caption(title: str, positive: str, result: Sweep | None) -> Text:
    title, positive = one_line(title), one_line(positive)
    if result is None:
        return Text(
            f"{title}: no confidences, so no threshold plot (the model gave none, or there is no verdict "
            f"yet). ↑/↓ highlight another row."
        )
    best = result.best
    line = Text.assemble(("━ precision", "cyan"), "  ", ("━ recall", "magenta"))
    if best is not None:
        line.append("  ")
        line.append("┃ best F1", style="green")
    line.append(f" · {title}: {result.scored} of {result.items} items scored, {result.positives} '{positive}'")
    if best is not None:
        line.append(
            f" · best F1 {best.f1:.3f} at threshold ≥ {best.threshold:.3f} "
            f"(P {_num(best.precision)}, R {_num(best.recall)})"
        )
    return line


class ReliabilityPlot(RatePlot):
    """Reliability diagram: per confidence bin, the share of positive items against the mean score; a
    calibrated model sits on the diagonal."""

    def show(self, positive: str, result: Calibration | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"reliability of '{one_line(positive)}' scores" + (f" · ECE {result.ece:.3f}" if result else ""))
        plt.xlabel("mean score")
        plt.xlim(0, 1.0)
        plt.ylim(0, 1.02)
        plt.plot([0, 1], [0, 1], marker="braille", color="gray")
        if result is not None:  # no plotext legend (it would cover the points): the caption says what is drawn
            full = [b for b in result.bins if b.mean_score is not None and b.positive_rate is not None]
            plt.scatter([b.mean_score for b in full], [b.positive_rate for b in full], marker="●", color="cyan")
        self.refresh()


class FrontierPlot(RatePlot):
    """Each target × prompt as a point: cost per 1,000 items across, F1 up; the Pareto-optimal ones stand out."""

    def show(self, points: list[FrontierPoint]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("F1 vs cost per 1,000 items")
        plt.xlabel("USD per 1k items")
        plt.ylim(0, 1.02)
        scored = [(i, p) for i, p in enumerate(points, start=1) if p.f1 is not None]
        costs = [p.cost_per_1k for _, p in scored] or [0.0]
        top = max(costs) or 1.0
        plt.xlim(-0.05 * top, top * 1.15)
        for pareto, color in ((False, "gray"), (True, "green")):
            chosen = [(i, p) for i, p in scored if p.pareto is pareto]
            if chosen:
                plt.scatter([p.cost_per_1k for _, p in chosen], [p.f1 for _, p in chosen], marker="●", color=color)
        for i, p in scored:  # the point's number, as the caption lists them
            plt.text(str(i), p.cost_per_1k + 0.03 * top, p.f1, color="white")
        self.refresh()


def frontier_caption(points: list[FrontierPoint]) -> Text:
    if not points:
        return Text("no scored runs yet: the frontier needs a replay")
    line = Text.assemble(("● Pareto-optimal", "green"), "  ", ("● dominated", "bright_black"), " · ")
    line.append(
        " · ".join(
            f"{i} {one_line(p.title)} F1 {_num(p.f1)} ${p.cost_per_1k:.4f}/1k" for i, p in enumerate(points, start=1)
        )
    )
    return line


def reliability_caption(result: Calibration | None) -> Text:
    if result is None:
        return Text("no confidences: no reliability diagram")
    busy = max(result.bins, key=lambda b: b.count)
    line = Text(
        f"ECE {result.ece:.3f} over {result.scored} scored items · fullest bin "
        f"{busy.lo:.1f}–{busy.hi:.1f}: {busy.count} items · "
    )
    line.append_text(Text.assemble(("● positive rate per bin", "cyan"), "  ", ("━ calibrated", "bright_black")))
    return line

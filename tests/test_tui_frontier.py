"""The metrics tab's cost × F1 frontier (`p`): every target × prompt row as a point, the Pareto-optimal marked."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from modtui.analysis.frontier import Candidate, pareto_flags
from modtui.tui.widgets.metrics_panel import FrontierPlot, SweepPlot
from tests.test_tui import make_app, replayed


async def test_p_shows_the_frontier_of_every_row_and_back(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await replayed(pilot)
        await pilot.press("m", "p")
        await pilot.pause()
        assert screen.query_one("#frontier-box").display and not screen.query_one("#sweep-box").display
        assert screen.query_one(FrontierPlot).display
        columns = [c for c in screen.matrix.columns if c.metrics is not None and c.metrics.items]
        caption = str(screen.query_one("#frontier-caption", Static).render())
        for i, column in enumerate(columns, start=1):
            assert f"{i} {column.title} F1 " in caption
        flags = pareto_flags(
            [
                Candidate(c.metrics.f1, 0.0, c.metrics.latency_p95_ms)  # offline rows are free
                for c in columns
                if c.metrics is not None
            ]
        )
        assert len(columns) >= 2 and any(flags) and "Pareto-optimal" in caption
        await pilot.press("p")
        await pilot.pause()
        assert not screen.query_one("#frontier-box").display and screen.query_one("#sweep-box").display
        assert screen.query_one(SweepPlot).display
        assert app.is_running and not [n for n in app._notifications if n.severity == "error"]


def test_column_frontier_prices_tokens_at_the_configured_target(workspace: Path) -> None:
    from types import SimpleNamespace

    from modtui.analysis.metrics import ScoredItem, run_metrics
    from modtui.services.decide import column_frontier
    from modtui.workspace import Workspace

    ws = Workspace.open(workspace)
    items = [
        ScoredItem(f"i{i}", "toxic" if i % 2 else "ok", "toxic", tokens_in=1000, tokens_out=100) for i in range(10)
    ]
    cheap = SimpleNamespace(target="offline", title="offline:production", metrics=run_metrics(items, "toxic"))
    dear = SimpleNamespace(target="gpt-mini", title="gpt-mini:candidate", metrics=run_metrics(items[:4], "toxic"))
    points = column_frontier(ws, [cheap, dear])
    assert [p.title for p in points] == ["offline:production", "gpt-mini:candidate"]
    assert points[0].cost_per_1k == 0.0
    assert points[1].cost_per_1k == (1000 * 0.15 + 100 * 0.60) / 1e6 * 1000  # per item × 1,000, gpt-mini's prices
    assert points[0].pareto and points[1].pareto == ((points[1].f1 or 0) > (points[0].f1 or 0))


async def test_at_80x24_the_plots_keep_room_to_draw_and_the_slices_scroll_into_view(workspace: Path) -> None:
    """A small terminal squeezed the plots to their frame (no data row at 80×24): they keep at least 13 rows, and
    the metrics tab scrolls to what is below them (the slices) when it takes the focus."""
    from modtui.tui.widgets.slices_table import SlicesTable

    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await replayed(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert screen.query_one("#metrics-plots").region.height >= 13
        for plot in ("#sweep-box", "#frontier-box"):
            await pilot.pause()
            assert screen.query_one(plot).region.height >= 13, plot
            await pilot.press("p")  # the frontier, then back
        pane = screen.query_one("#metrics-pane")
        slices = screen.query_one(SlicesTable)
        assert not pane.region.contains_region(slices.region)  # below the fold
        slices.focus()
        await pilot.pause(0.2)
        assert pane.region.y <= slices.region.y < pane.region.bottom and pane.scroll_y > 0

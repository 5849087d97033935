"""`modtui incident list|show|new|import|status`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.output import echo_json, emit, format_option, inert, note, say
from modtui.errors import InputError, Problem, UsageError

importer = lazy("modtui.incidents.importer")
svc = lazy("modtui.services.incidents")
creating = lazy("modtui.services.new_incident")
# the domain's and loader's constants, as literals: --help imports neither pydantic nor the store
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
STATUSES = ("open", "investigating", "mitigated", "resolved")
INCIDENT_FILE, ITEMS_FILE = "incident.yaml", "items.jsonl"
REJECTS_FILE = "import-rejects.jsonl"
ON_BAD_ROW, DEDUPE = ("fail", "skip"), ("fail", "first", "last")  # importer's, as literals (--help imports neither)

pass_app = click.make_pass_decorator(AppContext)
LIST_COLUMNS = (
    "id",
    "severity",
    "status",
    "title",
    "items",
    "false_positive",
    "false_negative",
    "guard",
    "open_findings",
    "last_activity",
)


@click.group("incident")
def incident_group() -> None:
    """List, inspect, create and import incidents.

    \b
    Example:
      modtui incident show INC-0042
    """


@incident_group.command("list")
@format_option()
@pass_app
def incident_list(app: AppContext, fmt: str) -> None:
    """All incidents in the workspace with item counts and activity.

    \b
    Example:
      modtui incident list --format json
    """
    rows, problems = svc.summaries(app.ws)
    rows.sort(key=lambda s: (svc.SEVERITY_ORDER[s.incident.severity.value], s.incident.id))
    data = [s.as_dict() for s in rows]
    echo_json({"incidents": data}) if fmt == "json" else emit(data, "table", LIST_COLUMNS)
    if problems:
        raise InputError(problems)


@incident_group.command("show")
@click.argument("incident_id")
@format_option()
@pass_app
def incident_show(app: AppContext, incident_id: str, fmt: str) -> None:
    """One incident: fields, item counts by kind, and its timeline.

    \b
    Example:
      modtui incident show INC-0042
    """
    loaded = svc.load_and_sync(app.ws, incident_id)
    inc = loaded.incident
    counts = Counter(i.kind.value for i in loaded.items if i.kind)
    timeline = [
        {"at": e.at, "author": e.author, "kind": e.kind, "summary": e.summary} for e in svc.timeline(app.ws, inc.id)
    ]
    if fmt == "json":
        echo_json({"incident": inc.model_dump(mode="json"), "counts": dict(counts), "timeline": timeline})
        return
    say(f"{inc.id}  {inert(inc.title)}")
    say(f"severity {inc.severity.value} · status {inc.status.value} · policy {inert(inc.policy)}")
    say(f"production: {inert(inc.production.prompt)} on {inert(inc.production.model)}")
    say(f"labels: {inert(', '.join(inc.labels))} (positive: {inert(inc.positive_label)})")
    say(
        "items: "
        + (
            ", ".join(f"{k} {counts[k]}" for k in ("false_positive", "false_negative", "guard", "eval") if counts[k])
            or f"none yet (add them to {ITEMS_FILE}, or `modtui incident import`)"
        )
    )
    if inc.description.strip():
        say("\n" + inc.description.strip())  # as written: its lines kept, control characters shown as escapes
    say("\n" + _timeline_title(len(timeline)))
    for event in timeline[:TIMELINE_SHOWN]:
        say(f"  {event['at']}  {inert(event['author'])}  {inert(event['summary'])}")


TIMELINE_SHOWN = 20


def _timeline_title(total: int) -> str:
    if total == 0:
        return "timeline: (empty)"
    if total <= TIMELINE_SHOWN:
        return f"timeline ({total} events, newest first):"
    return f"timeline (the newest {TIMELINE_SHOWN} of {total} events; --format json lists all):"


@incident_group.command("status")
@click.argument("incident_id")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--note", help="Why the status changed (kept in the timeline).")
@click.option("--author", help="Who made the change (default: $MODTUI_AUTHOR or your OS user).")
@pass_app
def incident_status(app: AppContext, incident_id: str, status: str, note: str | None, author: str | None) -> None:
    """Change an incident's status (in incident.yaml and the timeline).

    \b
    Example:
      modtui incident status INC-0042 mitigated --note "candidate v2 shipped"
    """
    old = svc.change_status(app.ws, incident_id, status, app.ws.author(author), note)
    say(f"{inert(incident_id)}: {old} → {status}")


def _new(
    incident_id: str,
    policy: str,
    title: str | None,
    severity: str,
    production_model: str,
    labels: str | None,
    positive_label: str | None,
    description: str,
    force: bool,
) -> Any:
    """The options as a services.new_incident.NewIncident (`--labels a,b`: a list)."""
    names = [name.strip() for name in (labels or "").split(",") if name.strip()]
    return creating.NewIncident(
        incident_id, policy, title, severity, production_model, names, positive_label, description, force
    )


common_new_options = [
    click.option(
        "--id",
        "id_option",
        metavar="ID",
        help="The incident id, as an option (the positional INCIDENT_ID "
        "is the same; kept for scripts written before it).",
    ),
    click.option("--policy", required=True, help="Policy name (a folder under prompts/)."),
    click.option("--title", help="One-line title."),
    click.option(
        "--severity",
        type=click.Choice(SEVERITIES),
        default="SEV3",
        show_default=True,
        help="How bad it is: SEV1 (worst) to SEV4.",
    ),
    click.option(
        "--model", "production_model", default="offline", show_default=True, help="Production model or target name."
    ),
    click.option("--labels", help="Comma-separated labels, of the policy's production prompt (default: all of them)."),
    click.option("--positive-label", help="The positive (violating) label (default: the first label)."),
    click.option("--description", default="", help="What was reported."),
    click.option("--force", is_flag=True, help="Overwrite an existing incident folder."),
]


def _apply(options):  # type: ignore[no-untyped-def]
    def wrap(fn):  # type: ignore[no-untyped-def]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return wrap


def _incident_id(positional: str | None, option: str | None) -> str:
    """The new incident's id: positional, as every other command takes it, or from --id (the older spelling)."""
    if positional and option and positional != option:
        raise click.UsageError(f"two ids given: {positional!r} and --id {option!r}; give one")
    if not (positional or option):
        raise click.UsageError("missing the incident id (e.g. INC-0101)")
    return positional or option  # type: ignore[return-value]


@incident_group.command("new")
@click.argument("incident_id", required=False, metavar="INCIDENT_ID")
@_apply(common_new_options)
@click.option(
    "--items",
    "items_file",
    type=click.Path(exists=True, dir_okay=False),
    help="An items.jsonl in modtui's item format to copy in (validated).",
)
@pass_app
def incident_new(
    app: AppContext,
    incident_id: str | None,
    id_option: str | None,
    policy: str,
    title: str | None,
    severity: str,
    production_model: str,
    labels: str | None,
    positive_label: str | None,
    description: str,
    force: bool,
    items_file: str | None,
) -> None:
    """Create incidents/INCIDENT_ID/ with an incident.yaml (and items, if given).

    \b
    Example:
      modtui incident new INC-0100 --policy hate_speech --title "Slur filter misses" --items items.jsonl
    """
    incident_id = _incident_id(incident_id, id_option)
    new = _new(incident_id, policy, title, severity, production_model, labels, positive_label, description, force)
    folder = creating.create(app.ws, new, Path(items_file) if items_file else None, items_file)
    note(
        f"created {app.ws.relative(folder)}/"
        + ("" if items_file else f" (add items to {ITEMS_FILE}, or use `modtui incident import`)")
    )


# as for `incident new`, but --policy is not needed to --update an incident
import_options = [
    common_new_options[0],
    click.option("--policy", help="Policy name (a folder under prompts/)."),
    *common_new_options[2:],
]


@incident_group.command("import")
@click.argument("incident_id", required=False, metavar="INCIDENT_ID")
@click.argument("source", required=False, metavar="SOURCE", type=click.Path(dir_okay=False))
@_apply(import_options)
@click.option("--content-col", help="Column holding the content.")
@click.option("--expected-col", help="Column holding the gold label.")
@click.option("--observed-col", help="Column holding production's verdict (without it items are kind 'eval').")
@click.option("--id-col", help="Column holding a stable item id (default: row-NNNNNN).")
@click.option("--meta-col", multiple=True, help="Column to keep in meta (repeatable).")
@click.option(
    "--label-map", multiple=True, metavar="SRC=DST", help="Map an export value onto a policy label (repeatable)."
)
@click.option(
    "--annotation-cols",
    metavar="COL[,COL…]",
    help="Columns holding individual reviewers' labels; each column's name is the annotator "
    "(an empty cell: that reviewer did not label the item). See `modtui agreement`.",
)
@click.option(
    "--stratum-col", help="A sample of production traffic: the column holding each item's stratum (needs --population)."
)
@click.option("--weight-col", help="A sample: the column holding each item's design weight (default 1).")
@click.option(
    "--population",
    "population_sizes",
    multiple=True,
    metavar="[STRATUM=]N",
    help="A sample: the population size the items were drawn from, per stratum (repeatable) or one "
    "number; makes the incident `kind: sample` (see `modtui estimate`).",
)
@click.option(
    "--update",
    is_flag=True,
    help="Add the file's labels to the existing incident --id as annotations (a `modtui queue --export` "
    "file once labelled): its `label` column is --annotator's, or name the columns with "
    "--annotation-cols; rows are matched by --id-col (default: id). Earlier annotations are kept.",
)
@click.option(
    "--annotator", help="With --update: who filled in the `label` column (default: $MODTUI_AUTHOR or your OS user)."
)
@click.option(
    "--on-bad-row",
    type=click.Choice(ON_BAD_ROW),
    default="fail",
    show_default=True,
    help="A row that cannot be an item (empty content, unmapped label, bad JSON): fail the import, or skip "
    f"it into incidents/ID/{REJECTS_FILE} with its reasons.",
)
@click.option(
    "--dedupe",
    type=click.Choice(DEDUPE),
    default="fail",
    show_default=True,
    help="Rows sharing an id: fail the import, or keep the first or the last of them.",
)
@pass_app
def incident_import(
    app: AppContext,
    incident_id: str | None,
    source: str | None,
    id_option: str | None,
    policy: str,
    title: str | None,
    severity: str,
    production_model: str,
    labels: str | None,
    positive_label: str | None,
    description: str,
    force: bool,
    content_col: str,
    expected_col: str,
    observed_col: str | None,
    id_col: str | None,
    meta_col: tuple[str, ...],
    label_map: tuple[str, ...],
    annotation_cols: str | None,
    update: bool = False,
    annotator: str | None = None,
    stratum_col: str | None = None,
    weight_col: str | None = None,
    population_sizes: tuple[str, ...] = (),
    on_bad_row: str = "fail",
    dedupe: str = "fail",
) -> None:
    """Create the incident INCIDENT_ID from SOURCE, a CSV or JSONL export, or with --update add a labelled
    file's labels to the incident's items as annotations.

    `modtui incident import SOURCE --id INCIDENT_ID` (the older order) works too.

    \b
    Example:
      modtui incident import INC-0101 export.csv --policy scam_spam --content-col text \\
          --expected-col "QA label" --observed-col model_decision --label-map spam=violating
      modtui incident import INC-0042 labelled.csv --update --annotator r3
    """
    if id_option and source is None:  # `import SOURCE --id ID`: the one positional is the export
        incident_id, source = None, incident_id
    if source is None and incident_id is not None and Path(incident_id).is_file():  # `import export.csv`, no id
        raise click.UsageError(
            f"missing INCIDENT_ID: give the incident's id before the export, e.g. "
            f"`modtui incident import INC-0101 {incident_id} …`"
        )
    incident_id = _incident_id(incident_id, id_option)
    if source is None:
        raise click.UsageError("missing SOURCE: the CSV or JSONL export to import")
    if update:
        _update(app, source, incident_id, id_col, annotation_cols, annotator, label_map)
        return
    for name, value in (("--policy", policy), ("--content-col", content_col), ("--expected-col", expected_col)):
        if not value:
            raise click.UsageError(f"Missing option '{name}' (needed to create an incident; --update adds labels)")
    new = _new(incident_id, policy, title, severity, production_model, labels, positive_label, description, force)
    population = _population(population_sizes, sampled=bool(stratum_col or weight_col))
    mapping = importer.Mapping(
        content_col,
        expected_col,
        observed_col,
        id_col,
        list(meta_col),
        _label_map(label_map),
        _columns(annotation_cols),
        stratum_col,
        weight_col,
        population,
    )
    folder, result = creating.import_export(app.ws, new, Path(source), source, mapping, population, on_bad_row, dedupe)
    shown = app.ws.relative(folder)
    note(
        f"imported {result.imported} items into {shown}/ "
        f"({', '.join(f'{k} {v}' for k, v in sorted(result.kinds.items())) or 'none'})"
    )
    for (role, value), count in sorted(result.unmapped.items()):
        note(f"unmapped {role} value '{inert(value)}': {count} row(s) skipped; add --label-map '{inert(value)}=LABEL'")
    if result.skipped:
        note(f"skipped {result.skipped} bad row(s); each with its reasons in {shown}/{REJECTS_FILE}")
    if result.duplicates:
        note(f"dropped {result.duplicates} row(s) repeating an id (--dedupe {dedupe})")


def _population(sizes: tuple[str, ...], sampled: bool) -> dict[str, int] | None:
    """`--population N` or `--population STRATUM=N …` as stratum → size (None: not a sample)."""
    from modtui.domain.incident import DEFAULT_STRATUM

    if not sizes:
        if sampled:
            raise UsageError(
                Problem(
                    "--population",
                    "a sample (--stratum-col, --weight-col) needs the population "
                    "size it was drawn from: --population N or STRATUM=N",
                )
            )
        return None
    out: dict[str, int] = {}
    for text in sizes:
        stratum, _, size = text.rpartition("=")
        if not size.isascii() or not size.isdigit() or int(size) < 1 or (len(sizes) > 1 and not stratum.strip()):
            raise UsageError(
                Problem("--population", f"'{text}' is not N or STRATUM=N (N a whole number of at least 1)")
            )
        out[stratum.strip() or DEFAULT_STRATUM] = int(size)
    return out


def _update(
    app: AppContext,
    source: str,
    incident_id: str,
    id_col: str | None,
    annotation_cols: str | None,
    annotator: str | None,
    label_map: tuple[str, ...],
) -> None:
    from modtui.incidents.annotate import LabelColumns
    from modtui.services import annotations

    if not Path(source).is_file():
        raise UsageError(Problem(source, "no such file"))
    named = {c: c for c in _columns(annotation_cols)} or {"label": app.ws.author(annotator, "--annotator")}
    columns = LabelColumns(id_col or "id", named, _label_map(label_map))
    result = annotations.update(app.ws, incident_id, Path(source), source, columns, app.ws.author(None))
    note(
        f"{incident_id}: {result.added} annotations added, {result.replaced} changed, from {result.rows} rows "
        f"(annotators: {', '.join(sorted(set(named.values())))})"
    )


def _columns(value: str | None) -> list[str]:
    columns = [c.strip() for c in (value or "").split(",")]
    if value is not None and not all(columns):
        raise UsageError(Problem("--annotation-cols", f"'{value}' has an empty column name; use COL[,COL…]"))
    if len(set(columns)) != len(columns):
        raise UsageError(Problem("--annotation-cols", f"'{value}' names a column twice"))
    from modtui.domain.incident import unprintable

    if any(unprintable(c) for c in columns):
        raise UsageError(Problem("--annotation-cols", "a column name holds control or formatting characters"))
    return columns if value is not None else []


def _label_map(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(Problem("--label-map", f"'{pair}' should look like SRC=DST"))
        src, dst = pair.split("=", 1)
        out[src.strip()] = dst.strip()
    return out


def register(group: click.Group) -> None:
    group.add_command(incident_group)

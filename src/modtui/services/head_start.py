"""A head start for a big offline replay: its items decided in worker processes while the incident is still checked.

Checking a fresh 25,000-item incident and copying it into the log takes this process about a second, on one core,
before the engine starts; the workers would idle meanwhile. When the replay's one target decides locally (the
`rules` baseline), the items' contents are read from the files as they are (one JSON decode), and the production
prompt's slices are sent to the workers before the check (replay.workers.HeadStart). The engine then takes each
slice's verdicts only if the checked items' contents are exactly those, under the same prompt version, and records
them as it records any slice; anything else is decided as before, and a failed check cancels the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from modtui.files.text import BOM
from modtui.files.yaml import parse_yaml
from modtui.incidents.loader import INCIDENT_FILE, IncidentFiles, incident_from_doc
from modtui.providers.registry import provider_class
from modtui.replay import engine, workers
from modtui.secrets import key_for
from modtui.workspace import Workspace


def start(ws: Workspace, targets: Sequence[str], items: str, files: IncidentFiles) -> workers.HeadStart | None:
    """The head start of replaying every item of the incident in `files` on `targets` (none: production's model),
    or None: not one local target, too few items for the workers, or files the check will refuse."""
    names = list(dict.fromkeys(targets))
    if items != "all" or len(names) > 1:
        return None
    try:
        incident = incident_from_doc(parse_yaml(files.head.decode("utf-8").removeprefix(BOM), INCIDENT_FILE))
        target = ws.target(names[0]) if names else ws.production_target(incident.production.model)
        provider = provider_class(target.provider)
        if not provider.local:
            return None
        lines = [line for _, line in files.item_lines()]
        prompt = ws.load_prompt(incident.production.prompt)
    except Exception:  # noqa: BLE001  whatever is wrong, the check says it with file and line: no head start
        return None
    pool = workers.open_pool(len(lines))
    if pool is None:
        return None
    try:  # the workers read their slices' contents from the lines they fork with: not this process
        return workers.HeadStart(
            pool, provider(target, key_for(target)), prompt.template, prompt.version, lines, engine.POOL_SLICE
        )
    except OSError:  # no fork (out of memory, a process limit): the replay goes on without a head start
        pool.shutdown(wait=False, cancel_futures=True)
        return None

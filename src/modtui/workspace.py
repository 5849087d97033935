"""A workspace: a folder with incidents/, prompts/, optional modtui.toml, and the log."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modtui.errors import InputError, Problem, UsageError
from modtui.files.paths import inside, is_file
from modtui.files.text import read_text
from modtui.store.db import Store, open_store

if TYPE_CHECKING:  # the loaders (Jinja, the item models) and the config's models (pydantic) are imported when
    from modtui.config import Config  # first used: `runs compare` needs none of them
    from modtui.domain.target import Target
    from modtui.incidents.loader import LoadedIncident
    from modtui.prompts.loader import LoadedPrompt

INCIDENT_FILE = "incident.yaml"  # as incidents.loader.INCIDENT_FILE (tests/test_compare_tallied.py checks)

DEFAULT_DB = ".modtui/modtui.db"


@dataclass
class Workspace:
    root: Path
    db: str
    _config: Config | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @classmethod
    def open(cls, root: str | Path | None = None, db: str | None = None, *, config: bool = True) -> "Workspace":
        """The workspace at `root` (else $MODTUI_WORKSPACE, else the current folder) with its log at `db`. Its
        modtui.toml is read and checked here (a bad one is exit 2 before the command starts), or with
        `config=False` when first used: a command that reads only the log (`runs compare`) never loads it."""
        given = str(root or os.environ.get("MODTUI_WORKSPACE") or ".")
        try:
            base = Path(given).expanduser().resolve()
            found = base.is_dir()
        except (OSError, RuntimeError, ValueError) as exc:  # a name too long, a symlink loop, a NUL
            raise UsageError(
                Problem("--workspace", f"cannot be used as a folder: {getattr(exc, 'strerror', None) or exc}")
            ) from None
        if not found:
            raise UsageError(Problem(str(base), "workspace folder does not exist"))
        ws = cls(base, db or os.environ.get("MODTUI_DB") or str(base / DEFAULT_DB))
        if config:
            ws.config  # noqa: B018  (read and checked now)
        return ws

    @property
    def config(self) -> Config:
        if self._config is None:
            from modtui.config import CONFIG_FILE, load_config

            self._config = load_config(self.root / CONFIG_FILE)
        return self._config

    @property
    def incidents_dir(self) -> Path:
        return self.root / "incidents"

    @property
    def prompts_dir(self) -> Path:
        return self.root / "prompts"

    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.db)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def author(self, given: str | None = None, option: str = "--author") -> str:
        """Who is acting: `given` (the command's `option`), else $MODTUI_AUTHOR, else [workspace] author, else the
        OS user. Every reader of a shared log sees it, so a name with a control character (an OSC 52 clipboard
        write) is refused, naming the option it came from."""
        from modtui.domain.incident import UNPRINTABLE_ID, unprintable

        for where, name in ((option, given), ("MODTUI_AUTHOR", os.environ.get("MODTUI_AUTHOR"))):
            if name:
                if unprintable(name):
                    raise UsageError(Problem(where, f"author {name!r}: {UNPRINTABLE_ID}"))
                return name
        return self.config.settings.author or _os_user()

    def relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)

    def incident_ids(self) -> list[str]:
        if not self.incidents_dir.is_dir():
            return []
        return sorted(p.name for p in self.incidents_dir.iterdir() if (p / INCIDENT_FILE).is_file())

    def incident_folder(self, incident_id: str) -> Path:
        folder = self.incidents_dir / incident_id
        # an id is a folder name, never a path: `../x` must not reach outside incidents/
        from modtui.domain.incident import ID_PATTERN

        if not ID_PATTERN.match(incident_id) or not (folder / INCIDENT_FILE).is_file():
            from modtui.files.validate import suggest  # (pydantic, YAML: only when something is missing)

            hint = suggest(incident_id, self.incident_ids())
            raise UsageError(Problem(self.relative(self.incidents_dir), f"no incident '{incident_id}'{hint}"))
        return folder

    def load_incident(self, incident_id: str) -> LoadedIncident:
        from modtui.incidents.loader import load_incident

        return load_incident(self.incident_folder(incident_id), self.root)

    def inside(self, path: Path, shown: str) -> Path:
        """`path` with symlinks followed, when it is inside the workspace; else exit 2 naming `shown`."""
        return inside(self.root, path, shown)

    def prompt_path(self, ref: str) -> Path:
        """A prompt by workspace-relative path, absolute path, or `policy/name`; a path relative to the
        current directory only last (it must never shadow this workspace's own file of the same name).
        Wherever it is named from, the file must be inside the workspace after symlinks (else exit 2): a
        file's `production.prompt: /etc/shadow` is never read."""
        candidates = [self.root / ref, self.prompts_dir / ref, self.prompts_dir / f"{ref}.yaml", Path(ref)]
        for path in candidates:
            if is_file(path):
                return self.inside(path, ref)
        known = [self.relative(p) for p in self.prompts_dir.rglob("*.yaml")] if self.prompts_dir.is_dir() else []
        from modtui.files.validate import suggest

        raise UsageError(Problem(ref, f"no prompt file '{ref}'{suggest(ref, known)}"))

    def load_prompt(self, ref: str) -> LoadedPrompt:
        from modtui.prompts.loader import load_prompt

        path = self.prompt_path(ref)
        return load_prompt(path, self.relative(path))

    def prompt_source(self, prompt: LoadedPrompt) -> str:
        return read_text(self.root / prompt.path, prompt.path)

    def target(self, name: str) -> Target:
        if name not in self.config.targets:
            from modtui.files.validate import suggest

            hint = suggest(name, self.config.targets)
            from modtui.config import CONFIG_FILE

            where = CONFIG_FILE if self.config.path else "targets"
            raise UsageError(Problem(where, f"no target '{name}'{hint}; configured: {', '.join(self.config.targets)}"))
        return self.config.targets[name]

    def production_target(self, model: str) -> Target:
        """The target for an incident's production model: by target name, else by model id, else offline."""
        if model in self.config.targets:
            return self.config.targets[model]
        for target in self.config.targets.values():
            if target.model == model:
                return target
        return self.config.targets[self.config.settings.default_target or "offline"]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def collect(problems: list[Problem], fn, *args) -> object | None:  # type: ignore[no-untyped-def]
    """Run a loader, appending its problems instead of raising; returns its value or None."""
    try:
        return fn(*args)
    except InputError as exc:
        problems.extend(exc.problems)
        return None

"""Where frontdesk keeps its files: one home folder, or the platform's dirs."""

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "frontdesk"
HOME_ENV = "FRONTDESK_HOME"


@dataclass(frozen=True)
class Home:
    """The folders and files of one install.

    ``root`` is the single folder given by --home or FRONTDESK_HOME, holding
    every file; it is None when the platform's per-user folders are used.
    ``credentials_dir`` is systemd's credentials folder when the process runs
    under a unit with LoadCredential=, else None.
    """

    root: Path | None
    data_dir: Path
    config_dir: Path
    state_dir: Path
    credentials_dir: Path | None = None

    @property
    def database(self) -> Path:
        return self.data_dir / "frontdesk.db"

    @property
    def queue(self) -> Path:
        return self.data_dir / "queue.db"

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox.jsonl"

    @property
    def config(self) -> Path:
        return self.config_dir / "config.toml"

    def ensure(self) -> "Home":
        """Create the data, config and state folders if missing, and return self.

        New folders are made private to the user (mode 0700). Folders that
        already exist keep their mode, so a deliberately group-shared install
        is not undone. Raises OSError if a folder cannot be created.
        """
        for folder in (self.data_dir, self.config_dir, self.state_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self


def resolve_home(explicit: str | Path | None = None) -> Home:
    """Work out the install's folders; nothing is created (see Home.ensure).

    The first of these wins: ``explicit`` (the --home option), the
    FRONTDESK_HOME environment variable, then the platform's per-user folders
    (XDG on Linux: data in ~/.local/share/frontdesk, config in
    ~/.config/frontdesk, logs in ~/.local/state/frontdesk). An empty string
    counts as not given. A leading ~ is expanded and the path made absolute.
    """
    chosen = str(explicit) if explicit is not None else ""
    if not chosen.strip():
        chosen = os.environ.get(HOME_ENV, "")
    credentials = _credentials_dir()

    if chosen.strip():
        root = Path(chosen).expanduser().absolute()
        return Home(root, root, root, root, credentials)

    # Only a home without --home or FRONTDESK_HOME needs it; the others start
    # faster without the import.
    from platformdirs import PlatformDirs

    dirs = PlatformDirs(APP_NAME, appauthor=False)
    return Home(
        root=None,
        data_dir=dirs.user_data_path,
        config_dir=dirs.user_config_path,
        state_dir=dirs.user_state_path,
        credentials_dir=credentials,
    )


def _credentials_dir() -> Path | None:
    value = os.environ.get("CREDENTIALS_DIRECTORY", "")
    if value and Path(value).is_dir():
        return Path(value)
    return None

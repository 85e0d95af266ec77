"""Fixtures shared by every test folder: a private emulator, settings read afresh, Chromium launch arguments,
databases (SQLite and a throwaway PostgreSQL server)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Emulator, free_port, running_emulator
from tests.support_browser import CHROMIUM, CHROMIUM_ARGS

# The emulator's pytest plugin (the one its package registers when installed on its own): the session emulator
# and its fixtures (stripe_emulator, stripe_client, stripe_webhooks).
pytest_plugins = ["stripe_emulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """Settings are cached per process; each test reads them from its own environment."""
    from shop.config import get_settings
    from shop.mail.settings import get_mail_settings

    get_settings.cache_clear()
    get_mail_settings.cache_clear()
    yield
    get_settings.cache_clear()
    get_mail_settings.cache_clear()


@pytest.fixture(autouse=True)
def _stores_closed_after_use() -> Iterator[None]:
    """Each test's own store is closed when it ends, so a long run does not pile up open files."""
    yield
    from shop.db import close_idle_connections

    close_idle_connections()


@pytest.fixture(scope="session")
def emulator(stripe_emulator: Emulator) -> Emulator:
    """One emulator for the whole test session, on its own port and data directory (the plugin's)."""
    return stripe_emulator


@pytest.fixture(scope="module")
def private_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator of one test module only: for tests that count requests, move its clock or fill it."""
    with running_emulator(tmp_path_factory.mktemp("private-emulator")) as emu:
        yield emu


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, headless, with the flags this offline machine needs."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


# ---------------------------------------------------------------------------------------------- databases

POSTGRES_BIN_DIRS = "/usr/lib/postgresql/*/bin"  # where Debian's postgresql package puts initdb and pg_ctl


def postgres_bin_dir() -> Path:
    """The directory of PostgreSQL's server programs: POSTGRES_BIN, else on PATH, else Debian's newest."""
    import glob
    import shutil

    if os.environ.get("POSTGRES_BIN"):
        return Path(os.environ["POSTGRES_BIN"])
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob(POSTGRES_BIN_DIRS), key=lambda path: int(Path(path).parent.name))
    if not found:
        pytest.fail("PostgreSQL is not installed: `apt-get install -y postgresql` (make test and .ci/run do it).")
    return Path(found[-1])


class PostgresCluster:
    """A throwaway PostgreSQL server of this test session: its own data directory, a free port, loopback only.

    PostgreSQL refuses to run as root, so under root (as in CI) its programs run as Debian's `postgres` user.
    """

    SUPERUSER = "postgres"
    TEMPLATE = "shop_template"

    def __init__(self, bin_dir: Path, port: int) -> None:
        import tempfile

        self.bin_dir = bin_dir
        self.port = port
        # Not under pytest's tmp_path: that is private to root, and the server's user must reach its directory.
        self.root = Path(tempfile.mkdtemp(prefix="shop-postgres-"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "sockets"
        self.socket_dir.mkdir()
        self._databases = 0
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections (`pg_ctl -w`)."""
        self._run("initdb", "-D", str(self.data_dir), "-U", self.SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        # A test server: durability settings off, since the cluster is deleted at the end anyway.
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        self._admin(f"CREATE DATABASE {self.TEMPLATE}")
        # A migrated empty store that each test's database is copied from, so no test pays for the migration.
        from shop.db import get_engine

        get_engine(self.url(self.TEMPLATE)).dispose()  # a template must have no open connections

    def stop(self) -> None:
        """Stop the server at once and delete its directory."""
        import shutil

        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on this server (psycopg 3)."""
        return f"postgresql+psycopg://{self.SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(statement)

    def create_database(self, *, empty: bool = False) -> str:
        """A new database holding an empty, migrated store (with `empty`, no tables at all); returns its name."""
        self._databases += 1
        name = f"shop_test_{self._databases}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {'template0' if empty else self.TEMPLATE}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop `name`, ending the connections that engines of the test still hold."""
        self._admin(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the whole session, started when the first test needs it."""
    cluster = PostgresCluster(postgres_bin_dir(), free_port())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty store: a SQLite file in tmp_path, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = cluster.create_database()
    yield cluster.url(name)
    cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Like `database_url`, but a database with no tables at all (for building a store by hand, then migrating)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = cluster.create_database(empty=True)
    yield cluster.url(name)
    cluster.drop_database(name)

"""PostgreSQL from Debian's packages, run as `postgres` on our own data folder."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from stacklib.core import Context, Server, StackError, apt_install, dev_env, run

MAJOR = "15"  # Debian 12's PostgreSQL; the compose image pins the same major
PORT = 5432


def _keep_packaged_cluster_off() -> None:
    # Installing the package would create and start a `main` cluster on 5432,
    # which would then hold the port we want for our own data folder.
    conf = Path("/etc/postgresql-common/createcluster.conf")
    conf.parent.mkdir(parents=True, exist_ok=True)
    text = conf.read_text() if conf.exists() else ""
    if "create_main_cluster = false" not in text:
        conf.write_text(text + "\ncreate_main_cluster = false\n")


class Postgres(Server):
    name = "postgres"
    ports = (PORT,)
    start_timeout = 60.0

    def bindir(self) -> Path:
        return Path(f"/usr/lib/postgresql/{MAJOR}/bin")

    def provision(self, ctx: Context) -> None:
        apt_install([f"postgresql-{MAJOR}", f"postgresql-client-{MAJOR}"],
                    pre=_keep_packaged_cluster_off)
        # Should a packaged cluster exist anyway (installed earlier by someone
        # else), it must not take our port.
        for cluster in Path(f"/etc/postgresql/{MAJOR}").glob("*/postgresql.conf"):
            subprocess.run(["pg_ctlcluster", MAJOR, cluster.parent.name, "stop"],
                           capture_output=True, check=False)

    def pgdata(self, ctx: Context) -> Path:
        return ctx.data_dir(self.name) / "pgdata"

    def socket_dir(self, ctx: Context) -> Path:
        return ctx.data_dir(self.name) / "socket"

    def _chown(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)

    def _check_traversable(self, ctx: Context) -> None:
        """Let the postgres user reach our data folder inside the clone.

        A clone may sit below folders that others cannot enter (mode 0700);
        the server runs as `postgres`, so each parent gets the search bit
        (o+x: enter, not list) where it lacks it.
        """
        if os.geteuid() != 0:
            return
        data = ctx.data_dir(self.name)
        for parent in reversed(data.parents):
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(data)],
                               capture_output=True)
        if probe.returncode != 0:
            raise StackError(f"the postgres user cannot write {data}; set DMS_VAR to a folder "
                             "it can reach")

    def prepare(self, ctx: Context) -> None:
        data = ctx.data_dir(self.name)
        self._chown(data)
        self._check_traversable(ctx)
        pgdata = self.pgdata(ctx)
        socket = self.socket_dir(ctx)
        socket.mkdir(exist_ok=True)
        self._chown(socket)
        if not (pgdata / "PG_VERSION").exists():
            pgdata.mkdir(exist_ok=True)
            self._chown(pgdata)
            pgdata.chmod(0o700)
            run(self._as_postgres([str(self.bindir() / "initdb"), "-D", str(pgdata), "-U", "postgres",
                                   "--auth-local=peer", "--auth-host=scram-sha-256",
                                   "--encoding=UTF8", "--locale=C.UTF-8"]), capture=True)
        overrides = pgdata / "postgresql.auto.conf"
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(PORT),
            "unix_socket_directories": f"'{socket}'",
            "max_connections": "300",
            "shared_buffers": "'256MB'",
            "timezone": "'UTC'",
            "log_timezone": "'UTC'",
        }
        overrides.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        self._chown(overrides)

    def _as_postgres(self, cmd: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def command(self, ctx: Context) -> list[str]:
        # The postmaster itself (not pg_ctl) so the stack's pid is the server's.
        return [str(self.bindir() / "postgres"), "-D", str(self.pgdata(ctx))]

    def user(self, ctx: Context) -> str | None:
        return "postgres"

    def _psql(self, ctx: Context, sql: str, db: str = "postgres") -> str:
        cmd = self._as_postgres([str(self.bindir() / "psql"), "-h", str(self.socket_dir(ctx)),
                                 "-p", str(PORT), "-U", "postgres", "-d", db, "-v",
                                 "ON_ERROR_STOP=1", "-tAc", sql])
        return run(cmd, capture=True).stdout.strip()

    def healthy(self, ctx: Context) -> bool:
        proc = subprocess.run(
            self._as_postgres([str(self.bindir() / "pg_isready"), "-h", str(self.socket_dir(ctx)),
                               "-p", str(PORT)]), capture_output=True)
        return proc.returncode == 0

    def after_start(self, ctx: Context) -> None:
        url = urlsplit(dev_env(ctx)["DMS_DATABASE_URL"])
        user, password, db = url.username, url.password, url.path.lstrip("/")
        if not (user and password and db):
            raise StackError("DMS_DATABASE_URL must name a user, a password and a database")
        # The application role owns its database and may create the per-service
        # runtime roles its migrations set up (see dms_common.db).
        exists = self._psql(ctx, f"SELECT 1 FROM pg_roles WHERE rolname = '{user}'")
        verb = "ALTER" if exists == "1" else "CREATE"
        self._psql(ctx, f"{verb} ROLE \"{user}\" LOGIN CREATEROLE CREATEDB PASSWORD '{password}'")
        if self._psql(ctx, f"SELECT 1 FROM pg_database WHERE datname = '{db}'") != "1":
            self._psql(ctx, f"CREATE DATABASE \"{db}\" OWNER \"{user}\"")

    def version(self, ctx: Context) -> str:
        return self._psql(ctx, "SELECT version()").split(",")[0]

    def stop(self, ctx: Context, pid: int) -> None:
        # "fast" shutdown: roll back open transactions, checkpoint, exit.
        proc = subprocess.run(self._as_postgres([str(self.bindir() / "pg_ctl"), "-D",
                                                 str(self.pgdata(ctx)), "-m", "fast", "-w",
                                                 "-t", "60", "stop"]), capture_output=True)
        if proc.returncode != 0:
            super().stop(ctx, pid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.2)

    def reset(self, ctx: Context) -> None:
        shutil.rmtree(ctx.var / "data" / self.name, ignore_errors=True)

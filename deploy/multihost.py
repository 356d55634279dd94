"""Several hosts on one machine: two application hosts behind nginx, sharing one PostgreSQL database, one Redis and
one files folder, as hosts on one network and one NFS mount would.

Each host has its own gunicorn (2 workers) and its own job worker (``flask jobs worker``), on ports of its own and
with an instance folder of its own (its mail, its jobs file, its audit archives); what makes them one portal is what
they share: the database, Redis (the job queue), SECRET_KEY (the signed session cookies) and PORTAL_STORAGE_DIR.
nginx (Debian's package, a child process with a configuration of its own, never the system's service) balances them
round-robin, skips a stopped host (``max_fails=1 fail_timeout=5s``, ``proxy_next_upstream error timeout http_502``),
sends each request's ``$request_id`` as ``X-Request-ID`` and says which host answered in ``X-Upstream``.

By hand (the database must exist; it is migrated and, when it has no users, seeded with the demo data)::

    .venv/bin/python deploy/multihost.py --database-url postgresql+psycopg://postgres@127.0.0.1/portal_hosts \\
        --redis-url redis://127.0.0.1:6379/5

It prints the balancer's address; Ctrl-C stops everything. ``tests/test_multihost.py`` walks through it.
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess  # nosec B404  # starts the portal's own processes and nginx, fixed argument lists, no shell
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
# Variables of the environment this script was started in that would make the hosts differ from what it sets.
INHERITED_OUT = ("PORTAL_", "FLASK_", "MAIL_", "SENTRY_", "TEST_")
INHERITED_OUT_NAMES = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}


def free_port():
    """A TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_path():
    """Debian's nginx, or the one on PATH; None when there is none."""
    return NGINX if os.access(NGINX, os.X_OK) else shutil.which("nginx")


NGINX_CONF = """\
# Written by deploy/multihost.py for this run only.
worker_processes 1;
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    # One line a request, tab-separated: nginx's request id, the host(s) tried, the status, the request.
    log_format multihost '$request_id\t$upstream_addr\t$status\t$request';
    access_log {prefix}/access.log multihost;

    upstream portal {{
{servers}
    }}

    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 55m;
        location / {{
            proxy_pass http://portal;
            # A stopped host refuses the connection: the request goes to the next one (a POST too, as nothing of
            # it was sent), and the stopped host is left out for fail_timeout.
            proxy_next_upstream error timeout http_502;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Request-ID $request_id;
            # For the test only: which host answered (the last address when nginx had to try another).
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@dataclass(eq=False)
class Host:
    """One application host: its gunicorn and its job worker, its port and instance folder, its log files."""

    name: str
    port: int
    instance: Path
    processes: dict = field(default_factory=dict)  # "web"/"worker" -> Popen
    secret_key: str | None = None  # None: the cluster's (a host with another key refuses the others' cookies)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def mail(self):
        return self.instance / "mail"

    def log(self, role):
        return self.instance / f"{role}.log"


class Cluster:
    """Application hosts (two by default) behind nginx. ``start()`` migrates and seeds the shared database and
    starts every process, each in a process group of its own; ``stop()`` ends them all."""

    def __init__(
        self,
        database_url,
        redis_url,
        workdir,
        *,
        hosts=2,
        secret_key=None,
        balancer_port=None,
        flush_redis=False,
        web_workers=2,
    ):
        self.database_url, self.redis_url = database_url, redis_url
        self.workdir = Path(workdir)
        self.secret_key = secret_key or secrets.token_hex(32)
        self.storage = self.workdir / "files"  # the shared files folder (one NFS mount on real hosts)
        self.hosts = [
            Host(chr(ord("a") + i), free_port(), self.workdir / f"host-{chr(ord('a') + i)}") for i in range(hosts)
        ]
        self.balancer_port = balancer_port or free_port()
        self.nginx_prefix = self.workdir / "nginx"
        self.nginx = None
        self.flush_redis = flush_redis
        self.web_workers = web_workers

    @property
    def url(self):
        return f"http://127.0.0.1:{self.balancer_port}"

    def host_at(self, address):
        """The host listening on ``address`` (``127.0.0.1:port``)."""
        return next(h for h in self.hosts if h.address == address)

    # ------------------------------------------------------------ environment

    def environment(self, host=None):
        """The environment of a host's processes: what every host shares, and its own instance folder."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_OUT) and k not in INHERITED_OUT_NAMES}
        env.update(
            {
                "FLASK_APP": "app",
                # Development: the demo accounts may sign in (production refuses them); plain http cookies.
                "PORTAL_ENV": "development",
                "SECRET_KEY": self.secret_key,  # the same on every host, or a cookie signed by one is refused by another
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "PORTAL_JOBS_NAME": "multihost",
                "PORTAL_STORAGE_DIR": str(self.storage),
                "PORTAL_PROXY_HOPS": "1",
                "PORTAL_BASE_URL": self.url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if host is not None:
            env.update(
                {
                    "SECRET_KEY": host.secret_key or self.secret_key,
                    "MAIL_FILE_PATH": str(host.mail),
                    "PORTAL_JOBS_DB": str(host.instance / "jobs.sqlite"),
                    "PORTAL_AUDIT_ARCHIVE_DIR": str(host.instance / "audit"),
                }
            )
        return env

    def flask(self, *args, timeout=600):
        """Run a ``flask`` command against the shared database; its output is returned, a failure raised."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", *args],
            check=False,
            cwd=ROOT,
            env=self.environment(),  # nosec B603  # fixed argument list, no shell
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    # ------------------------------------------------------------ processes

    def _spawn(self, host, role, argv):
        out = host.log(role).open("ab")
        try:
            # A process group of its own: gunicorn's workers (and anything else it starts) end with it.
            host.processes[role] = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.environment(host),
                stdout=out,  # nosec B603  # fixed argument list, no shell
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            out.close()

    def add_host(self, name, secret_key=None):
        """Start one more web server, outside the balancer (nginx knows the hosts it was started with), e.g. one
        with another SECRET_KEY; ``wait_healthy`` it. It is stopped with the others."""
        host = Host(name, free_port(), self.workdir / f"host-{name}", secret_key=secret_key)
        self.hosts.append(host)
        self.start_web(host)
        return host

    def start_web(self, host):
        for folder in (host.instance, host.mail):
            folder.mkdir(parents=True, exist_ok=True)
        # Command-line flags only; a gunicorn.conf.py at the top level would be read by `-c gunicorn.conf.py`.
        self._spawn(
            host,
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(self.web_workers),
                "--bind",
                host.address,
                "--timeout",
                "60",
                "--graceful-timeout",
                "10",
                "--access-logfile",
                "-",
                "--error-logfile",
                "-",
                # Its own control socket (gunicorn's default is one path per user, ~/.gunicorn).
                "--control-socket",
                str(host.instance / "gunicorn.ctl"),
                "app:app",
            ],
        )

    def start_worker(self, host):
        self._spawn(host, "worker", [sys.executable, "-m", "flask", "jobs", "worker", "--shutdown-timeout", "10"])

    def write_nginx_conf(self):
        for folder in ("logs", "tmp"):
            (self.nginx_prefix / folder).mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {h.address} max_fails=1 fail_timeout=5s;" for h in self.hosts)
        conf = self.nginx_prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self.nginx_prefix, servers=servers, port=self.balancer_port))
        return conf

    def start_nginx(self):
        nginx = nginx_path()
        if nginx is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        conf = self.write_nginx_conf()
        out = (self.nginx_prefix / "stderr.log").open("ab")
        try:
            self.nginx = subprocess.Popen(
                [nginx, "-p", str(self.nginx_prefix), "-c", str(conf), "-g", "daemon off;"],  # nosec B603  # fixed argument list, no shell
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            out.close()

    def start(self, timeout=120):
        """Start the web servers and nginx while the shared database is migrated and the demo data seeded into an
        empty one (nothing asks the servers anything before ``start`` returns), then the job workers, and wait until
        every host and the balancer answer ``/healthz`` and every job worker has started."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        if self.flush_redis:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()
        for host in self.hosts:
            self.start_web(host)
        self.start_nginx()
        self.flask("db", "upgrade")
        self.flask("seed-demo", "--if-empty")
        for host in self.hosts:
            self.start_worker(host)
        deadline = time.monotonic() + timeout
        for host in self.hosts:
            self.wait_healthy(f"http://{host.address}", deadline, host)
        self.wait_healthy(self.url, deadline)
        for host in self.hosts:
            self.wait_worker(host, deadline)
        return self

    def wait_worker(self, host, deadline):
        """Wait until the host's job worker is taking tasks: Huey logs "Huey consumer started" once it is (a
        worker has no address to ask, and ``flask jobs ping`` is answered by whichever worker is free)."""
        while "Huey consumer started" not in host.log("worker").read_text(errors="replace"):
            if host.processes["worker"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"host {host.name}: the job worker did not start\n{self.tails()}")
            time.sleep(0.3)

    def wait_healthy(self, base, deadline, host=None):
        """Poll ``/healthz`` until it answers 200; fail at the deadline or when the host's processes have exited."""
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:  # nosec B310  # http://127.0.0.1 of a process this script started
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            exited = [role for role, p in (host.processes.items() if host else []) if p.poll() is not None]
            if exited or time.monotonic() > deadline:
                why = f"{', '.join(exited)} exited" if exited else "no answer in time"
                raise RuntimeError(f"{base}/healthz: {why}\n{self.tails()}")
            time.sleep(0.3)

    @staticmethod
    def _end(process, timeout):
        """SIGTERM the process's group, then SIGKILL what is left of it after ``timeout`` seconds."""
        if process is None or process.poll() is not None:  # ended earlier: its group id may be another's by now
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the group's stragglers, if its leader has just gone without them
        except ProcessLookupError:
            pass
        process.wait(timeout=10)

    def stop_host(self, host, timeout=20):
        """Stop a host as its service manager would: SIGTERM to its gunicorn and its worker (each finishes what it
        is doing), SIGKILL if they have not ended in time. Returns their exit codes."""
        for process in host.processes.values():
            self._end(process, timeout)
        return {role: p.returncode for role, p in host.processes.items()}

    def stop(self):
        for host in self.hosts:
            self.stop_host(host, timeout=10)
        self._end(self.nginx, 10)

    # ------------------------------------------------------------ what happened

    def access_log(self):
        """nginx's log lines as (request id, hosts tried, status, request line)."""
        path = self.nginx_prefix / "access.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return [tuple(line.split("\t", 3)) for line in lines]

    def tails(self, lines=40):
        """The end of every log: each host's web server and worker, and nginx's."""
        logs = [(f"host {h.name} {role}", h.log(role)) for h in self.hosts for role in ("web", "worker")]
        logs += [("nginx error", self.nginx_prefix / "error.log"), ("nginx", self.nginx_prefix / "stderr.log")]
        out = []
        for title, path in logs:
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else ["(no log)"]
            out.append(f"----- {title} ({path}) -----\n" + "\n".join(text))
        return "\n".join(out)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--database-url", required=True, help="the shared PostgreSQL database (it must exist)")
    parser.add_argument("--redis-url", required=True, help="the shared Redis, e.g. redis://127.0.0.1:6379/5")
    parser.add_argument("--hosts", type=int, default=2, help="application hosts (default 2)")
    parser.add_argument("--port", type=int, default=None, help="the balancer's port (default: a free one)")
    parser.add_argument("--workdir", default=None, help="instance folders, files and logs (default: a new temp dir)")
    parser.add_argument("--flush-redis", action="store_true", help="empty the Redis database first")
    args = parser.parse_args(argv)
    # SIGTERM (a service manager, `timeout`) stops everything as Ctrl-C does, rather than leaving the hosts running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="portal-hosts-"))
    cluster = Cluster(
        args.database_url,
        args.redis_url,
        workdir,
        hosts=args.hosts,
        balancer_port=args.port,
        flush_redis=args.flush_redis,
    )
    try:
        cluster.start()
        print(
            f"The portal, {args.hosts} hosts behind nginx: {cluster.url}  (logs: {workdir}; Ctrl-C stops)", flush=True
        )
        for host in cluster.hosts:
            print(f"  host {host.name}: http://{host.address}  instance folder {host.instance}", flush=True)
        while all(p.poll() is None for h in cluster.hosts for p in h.processes.values()):
            time.sleep(1)
        print("A process has exited:\n" + cluster.tails(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())

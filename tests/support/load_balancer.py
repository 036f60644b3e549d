"""The generated project's load balancer (``deploy/nginx.conf`` and ``deploy/load-balancer.conf``) run by
real nginx on loopback.

Replicas listen on 127.0.0.2, .3, .4 at one port, as containers share the
port 8000 at different addresses; :class:`DnsServer` plays Docker's DNS,
answering the service name ``backend`` with their addresses. Only the listen
address, the resolver's address and the port are moved: the rest of the
shipped file runs as written.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from .dns_server import DnsServer

NGINX = "/usr/sbin/nginx"
REPLICA_HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def port_free_on_every_replica_address(hosts: tuple[str, ...] = REPLICA_HOSTS) -> int:
    """A TCP port free on every address of ``hosts``."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts:
                with socket.socket() as other:
                    other.bind((host, port))
            return port
        except OSError:
            continue
    raise AssertionError("no port free on every replica address")


def nginx_command(site: str, work: Path) -> list[str]:
    """Write nginx.conf around ``site`` (as the image's http {} block holds conf.d, with the image's
    1,024 connections per worker: the frontend image's nginx); the command to run it."""
    assert Path(NGINX).exists(), "nginx is not installed (.ci/run installs it with apt-get)"
    work.mkdir(parents=True, exist_ok=True)
    (work / "site.conf").write_text(site)
    temp_paths = "".join(
        f"    {kind}_temp_path {work / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (work / "nginx.conf").write_text(
        # As root, workers would switch to "nobody", who cannot read pytest's private temp folders.
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} info;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        f"    access_log {work / 'access.log'};\n"
        f"{temp_paths}"
        f"    include {work / 'site.conf'};\n"
        "}\n"
    )
    return [NGINX, "-p", str(work), "-c", str(work / "nginx.conf")]


def shipped_main_command(project: Path, site: str, work: Path) -> list[str]:
    """The project's ``deploy/nginx.conf`` (the main config the compose file mounts) around ``site``,
    with only its paths moved into ``work`` and its user to this one; the command to run it."""
    assert Path(NGINX).exists(), "nginx is not installed (.ci/run installs it with apt-get)"
    work.mkdir(parents=True, exist_ok=True)
    (work / "site.conf").write_text(site)
    temp_paths = "".join(
        f"    {kind}_temp_path {work / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = (project / "deploy" / "nginx.conf").read_text()
    for shipped, here in (
        # As root, workers would switch to "nginx", who cannot read pytest's private temp folders.
        ("user nginx;", "user root;" if os.geteuid() == 0 else ""),
        ("error_log /var/log/nginx/error.log notice;", f"error_log {work / 'error.log'} info;"),
        ("pid /var/run/nginx.pid;", f"pid {work / 'nginx.pid'};"),
        ("access_log /var/log/nginx/access.log main;", f"access_log {work / 'access.log'} main;"),
        ("    include /etc/nginx/conf.d/*.conf;\n", f"{temp_paths}    include {work / 'site.conf'};\n"),
    ):
        assert shipped in main, shipped
        main = main.replace(shipped, here)
    (work / "nginx.conf").write_text(main)
    return [NGINX, "-p", str(work), "-c", str(work / "nginx.conf")]


def local_site(project: Path, listen_port: int, dns: DnsServer, replica_port: int) -> str:
    """The project's load-balancer config with only its addresses moved to this machine's loopback."""
    site = (project / "deploy" / "load-balancer.conf").read_text()
    for shipped, here in (
        ("listen 80;", f"listen 127.0.0.1:{listen_port};"),
        ("resolver 127.0.0.11 ", f"resolver 127.0.0.1:{dns.port} "),
        ("set $backend backend:8000;", f"set $backend backend:{replica_port};"),
    ):
        assert shipped in site, shipped
        site = site.replace(shipped, here)
    return site


@contextmanager
def load_balancer(
    project: Path, dns: DnsServer, replica_port: int, work: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """nginx with the project's two config files on a free loopback port; yields its origin and process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = shipped_main_command(project, local_site(project, port, dns, replica_port), work)
    process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if httpx.get(origin + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield origin, process
    finally:
        process.terminate()
        process.wait(timeout=15)

"""nats-py over TLS against rnatsd, with an ssl context (certificates made
with openssl at test time)."""

import asyncio
import os
import re
import ssl
import subprocess
import tempfile
import time

import nats
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RNATSD = os.environ.get("RNATSD_BIN", os.path.join(ROOT, "target", "debug", "rnatsd"))


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="rnatsd-py-tls-")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", f"{d}/ca-key.pem", "-out", f"{d}/ca.pem", "-subj", "/CN=rnatsd test CA")
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/server-key.pem",
            "-out", f"{d}/server.csr", "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem",
            "-CAkey", f"{d}/ca-key.pem", "-CAcreateserial", "-days", "2",
            "-extfile", f"{d}/ext.cnf", "-out", f"{d}/server.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", f"{d}/other-key.pem", "-out", f"{d}/other-ca.pem", "-subj", "/CN=other")
    return d


@pytest.fixture
def server(pki):
    conf = os.path.join(pki, "server.conf")
    with open(conf, "w") as f:
        f.write(f'tls {{\n  cert_file: "{pki}/server.pem"\n  key_file: "{pki}/server-key.pem"\n}}\n')
    proc = subprocess.Popen([RNATSD, "-c", conf, "-a", "127.0.0.1", "-p", "-1"],
                            stderr=subprocess.PIPE, text=True)
    port = None
    deadline = time.time() + 10
    while time.time() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"Listening for client connections on [^\s]+:(\d+)", line)
        if m:
            port = int(m.group(1))
        if "Server is ready" in line:
            break
    assert port, "rnatsd did not start"
    yield port
    proc.kill()
    proc.wait()


def ctx(cafile):
    c = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    c.load_verify_locations(cafile)
    return c


def test_pub_sub_and_request_over_tls(pki, server):
    async def run():
        errors = []

        async def on_error(e):
            errors.append(repr(e))

        nc = await nats.connect(f"tls://127.0.0.1:{server}", tls=ctx(f"{pki}/ca.pem"),
                                error_cb=on_error, allow_reconnect=False)

        async def echo(msg):
            await msg.respond(b"py:" + msg.data)

        await nc.subscribe("py.echo", cb=echo)
        await nc.flush()
        reply = await nc.request("py.echo", b"hello", timeout=5)
        assert reply.data == b"py:hello"
        # The server answers the client's close_notify with its own and
        # sends nothing after it (OpenSSL would report "application data
        # after close notify").
        start = time.monotonic()
        await nc.close()
        assert time.monotonic() - start < 1.5
        assert errors == []

    asyncio.run(run())


def test_untrusted_server_certificate_is_refused(pki, server):
    async def run():
        with pytest.raises(Exception):
            await nats.connect(f"tls://127.0.0.1:{server}", tls=ctx(f"{pki}/other-ca.pem"),
                               allow_reconnect=False, connect_timeout=3, max_reconnect_attempts=0)

    asyncio.run(run())

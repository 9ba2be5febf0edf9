"""Remote pools against a `pls serve` started by the test: the same Message and exceptions."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

import plasmite
from plasmite import (
    AlreadyExistsError,
    Durability,
    IoError,
    Message,
    NotFoundError,
    RemoteClient,
    RemotePool,
    UsageError,
)
from conftest import pls_path


def test_remote_client_checks_its_url():
    with pytest.raises(ValueError):
        RemoteClient("ftp://x")
    with pytest.raises(ValueError):
        RemoteClient("http://host/pool")
    assert RemoteClient("http://127.0.0.1:9/").base_url == "http://127.0.0.1:9"


def test_remote_pool_lifecycle(serve):
    c = RemoteClient(serve.url)
    p = c.create_pool("chat", 1024 * 1024)
    assert isinstance(p, RemotePool) and p.name == "chat"
    with pytest.raises(AlreadyExistsError) as e:
        c.create_pool("chat")
    assert e.value.status == 409
    with pytest.raises(NotFoundError) as e:
        c.open_pool("missing")
    assert e.value.status == 404 and e.value.code == 3
    assert c.pool("other").name == "other"
    assert [i["name"] for i in c.list_pools()] == ["chat", "other"]
    assert c.pool_info("chat")["name"] == "chat"
    c.delete_pool("other")
    assert [i["name"] for i in c.list_pools()] == ["chat"]


def test_remote_append_get_and_tail_match_local_messages(serve, client):
    c = RemoteClient(serve.url)
    rp = c.create_pool("events")
    m = rp.append({"sensor": "temp", "value": 23.5}, ["t"], Durability.FLUSH)
    assert isinstance(m, Message) and (m.seq, m.data, m.tags) == (1, {"sensor": "temp", "value": 23.5}, ["t"])
    raw = rp.append_json(b'{"b": 2, "a": 1}', [], Durability.FAST)
    assert json.loads(raw)["data"] == {"a": 1, "b": 2}
    got = rp.get(1)
    local = client.open_pool("events").get(1)
    assert got == local == m
    assert got.raw == local.raw and got.time == local.time
    assert rp.get_json(2) == client.open_pool("events").get_json(2)
    with pytest.raises(NotFoundError) as e:
        rp.get(99)
    assert e.value.seq == 99
    with pytest.raises(UsageError, match="data must be object"):
        rp.append([1])
    assert [x.seq for x in rp.tail(timeout_ms=200)] == [1, 2]
    assert [x.seq for x in rp.tail(max_messages=1)] == [1]
    assert [x.seq for x in rp.tail(tags=["t"], timeout_ms=200)] == [1]
    assert [x.seq for x in rp.tail(since_seq=2, timeout_ms=200)] == [2]
    assert rp.info()["metrics"]["message_count"] == 2


def test_remote_tail_sees_later_appends(serve):
    c = RemoteClient(serve.url)
    rp = c.create_pool("live")
    tail = rp.tail(live=True, timeout_ms=10_000)
    got = []
    t = threading.Thread(target=lambda: got.append(tail.next_message()))
    t.start()
    time.sleep(0.2)
    rp.append({"late": True})
    t.join(10)
    assert got and got[0].data == {"late": True}
    tail.close()


def test_remote_errors_when_the_server_is_gone():
    c = RemoteClient("http://127.0.0.1:1")
    with pytest.raises(IoError) as e:
        c.list_pools()
    assert e.value.hint


def test_remote_token(tmp_path, pool_dir):
    import os

    ready = tmp_path / "ready-token"
    proc = subprocess.Popen(
        [pls_path(), "--dir", str(pool_dir), "serve", "--bind", "127.0.0.1:0", "--token", "s3cret"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, PLASMITE_SERVE_READY_FILE=str(ready), HOME=str(tmp_path)),
    )
    try:
        deadline = time.monotonic() + 15
        while not (ready.exists() and ready.read_text().strip()):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        url = f"http://{ready.read_text().strip()}"
        with pytest.raises(plasmite.PermissionDeniedError) as e:
            RemoteClient(url).list_pools()
        assert e.value.status == 401
        assert RemoteClient(url, token="s3cret").list_pools() == []
    finally:
        proc.terminate()
        proc.wait(5)

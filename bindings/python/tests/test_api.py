"""Every name, method and exception class of the package's local API."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

import plasmite
from plasmite import (
    AlreadyExistsError,
    BusyError,
    Client,
    CorruptError,
    Durability,
    ErrorKind,
    InternalError,
    IoError,
    Lite3Frame,
    Message,
    MessageMeta,
    NotFoundError,
    PermissionDeniedError,
    PlasmiteError,
    RetentionGapError,
    UsageError,
)


def test_module_names_are_the_reference_ones():
    for name in [
        "ErrorKind", "Durability", "DEFAULT_POOL_SIZE_BYTES", "DEFAULT_POOL_SIZE",
        "default_pool_dir", "DEFAULT_POOL_DIR", "parse_message", "Client", "Pool", "Stream",
        "Lite3Stream", "Message", "MessageMeta", "Lite3Frame", "PlasmiteError",
        "InternalError", "UsageError", "NotFoundError", "AlreadyExistsError", "BusyError",
        "PermissionDeniedError", "CorruptError", "IoError", "RetentionGapError",
    ]:
        assert name in plasmite.__all__
        assert hasattr(plasmite, name)
    assert plasmite.DEFAULT_POOL_SIZE == plasmite.DEFAULT_POOL_SIZE_BYTES == 1048576
    assert plasmite.default_pool_dir() == os.path.expanduser("~/.plasmite/pools")
    assert [(k.name, int(k)) for k in ErrorKind] == [
        ("INTERNAL", 1), ("USAGE", 2), ("NOT_FOUND", 3), ("ALREADY_EXISTS", 4), ("BUSY", 5),
        ("PERMISSION", 6), ("CORRUPT", 7), ("IO", 8), ("RETENTION_GAP", 9),
    ]
    assert (int(Durability.FAST), int(Durability.FLUSH)) == (0, 1)


@pytest.mark.parametrize(
    "cls,kind",
    [
        (InternalError, ErrorKind.INTERNAL), (UsageError, ErrorKind.USAGE),
        (NotFoundError, ErrorKind.NOT_FOUND), (AlreadyExistsError, ErrorKind.ALREADY_EXISTS),
        (BusyError, ErrorKind.BUSY), (PermissionDeniedError, ErrorKind.PERMISSION),
        (CorruptError, ErrorKind.CORRUPT), (IoError, ErrorKind.IO),
        (RetentionGapError, ErrorKind.RETENTION_GAP),
    ],
)
def test_each_error_kind_has_its_exception_class(cls, kind):
    e = cls(kind, "boom", "/p", 3, 7, hint="do this")
    assert isinstance(e, PlasmiteError) and isinstance(e, RuntimeError)
    assert (e.kind, e.code, str(e), e.path, e.seq, e.offset, e.hint) == (
        kind, int(kind), "boom", "/p", 3, 7, "do this",
    )
    from plasmite._support import _from_native

    made = _from_native(int(kind), "", None, None, None, None)
    assert type(made) is cls and made.message  # an empty message becomes the default text


def test_unknown_kind_numbers_are_internal():
    from plasmite._support import _from_native

    assert type(_from_native(42, "x", None, None, None, None)) is InternalError


def test_client_rejects_an_empty_dir_and_defaults_to_home(tmp_path):
    with pytest.raises(ValueError):
        Client("")
    assert Client().pool_dir.endswith(".plasmite/pools")


def test_create_open_and_pool(client, pool_dir):
    p = client.create_pool("a", 64 * 1024)
    assert p.name == "a" and p.path == str(pool_dir / "a.plasmite")
    with pytest.raises(AlreadyExistsError) as e:
        client.create_pool("a")
    assert e.value.path and e.value.hint
    with pytest.raises(NotFoundError) as e:
        client.open_pool("missing")
    assert e.value.kind == ErrorKind.NOT_FOUND and e.value.path.endswith("missing.plasmite")
    assert client.open_pool("a").path == p.path
    assert client.pool("b").path.endswith("b.plasmite")  # created
    assert client.pool("b").path.endswith("b.plasmite")  # opened
    with pytest.raises(ValueError):
        client.create_pool("")
    with pytest.raises(TypeError):
        client.create_pool("c", "big")
    with pytest.raises(ValueError):
        client.create_pool("c", -1)
    with pytest.raises(UsageError) as e:
        client.create_pool("tiny", 100)
    assert e.value.hint and "--" not in e.value.hint
    assert client.create_pool("zero", 0).info()["file_size"] == 1048576


def test_pool_lifecycle_extensions(client):
    client.create_pool("x").append({"a": 1})
    names = [p["name"] for p in client.list_pools()]
    assert names == ["x"]
    assert client.pool_info("x")["metrics"]["message_count"] == 1
    client.delete_pool("x")
    assert client.list_pools() == []
    with pytest.raises(NotFoundError):
        client.delete_pool("x")


def test_closed_handles_raise_usage_errors(client):
    p = client.create_pool("c")
    p.close()
    p.close()
    with pytest.raises(UsageError, match="pool is closed"):
        p.append({"a": 1})
    client.close()
    with pytest.raises(UsageError, match="client is closed"):
        client.open_pool("c")
    with pytest.raises(PlasmiteError):
        with client:
            pass


def test_append_json_returns_the_envelope(pool):
    raw = pool.append_json(b'{"b": 1, "a": 2}', ["t"], Durability.FAST)
    env = json.loads(raw)
    assert list(env) == ["seq", "time", "meta", "data"]
    assert env["seq"] == 1 and env["meta"] == {"tags": ["t"]} and env["data"] == {"a": 2, "b": 1}
    assert raw == pool.get_json(1)
    assert pool.append_json(bytearray(b'{"x": 1}'), (), Durability.FLUSH)
    assert pool.append_json(memoryview(b'{"x": 2}'), [], 0)
    with pytest.raises(TypeError):
        pool.append_json('{"x": 1}', [], Durability.FAST)
    with pytest.raises(ValueError):
        pool.append_json(b"", [], Durability.FAST)
    with pytest.raises(UsageError, match="invalid json"):
        pool.append_json(b"{", [], Durability.FAST)
    with pytest.raises(UsageError, match="data must be object"):
        pool.append_json(b"[1]", [], Durability.FAST)
    with pytest.raises(UsageError, match="durability"):
        pool.append_json(b"{}", [], 7)


def test_append_returns_a_message(pool):
    m = pool.append({"sensor": "temp", "value": 23.5}, ["a", "b"])
    assert isinstance(m, Message)
    assert m.seq == 1 and m.data == {"sensor": "temp", "value": 23.5}
    assert m.tags == ["a", "b"] and m.meta == MessageMeta(["a", "b"])
    assert isinstance(m.time, dt.datetime) and m.time.tzinfo is not None
    assert m.time_rfc3339.endswith("Z")
    assert json.loads(m.raw)["data"] == m.data
    assert pool.get(1) == m
    assert pool.append({"x": 1}, durability=Durability.FLUSH).seq == 2


def test_append_matches_json_dumps_for_every_value_shape(pool):
    value = {
        "s": "é\u2603\U0001f600", "i": -5, "big": 2**63 + 1, "f": 1.5, "one": 1.0, "t": True,
        "n": None, "l": [1, [2, {"k": ()}]], "tu": (1, "x"), 7: "int key", "d": {"z": 1, "a": 2},
    }
    direct = pool.append(value)
    via_json = pool.append_json(json.dumps(value).encode(), [], Durability.FAST)
    assert json.loads(direct.raw)["data"] == json.loads(via_json)["data"]
    assert pool.get_lite3(direct.seq).payload == pool.get_lite3(direct.seq + 1).payload
    with pytest.raises(TypeError):
        pool.append({"x": {1, 2}})
    with pytest.raises(UsageError):
        pool.append({"x": float("nan")})
    with pytest.raises(UsageError, match="data must be object"):
        pool.append([1, 2])


def test_oversize_message_is_a_usage_error_with_a_hint(client):
    p = client.create_pool("small", 64 * 1024)
    with pytest.raises(UsageError) as e:
        p.append({"x": "y" * 200_000})
    assert e.value.hint and "--" not in e.value.hint


def test_lite3_append_and_get(pool):
    pool.append({"a": 1}, ["t"])
    frame = pool.get_lite3(1)
    assert isinstance(frame, Lite3Frame)
    assert frame.seq == 1 and frame.flags == 0 and isinstance(frame.payload, bytes)
    assert isinstance(frame.time, dt.datetime)
    seq = pool.append_lite3(frame.payload, Durability.FAST)
    assert seq == 2 and pool.get(2).data == {"a": 1} and pool.get(2).tags == ["t"]
    with pytest.raises(ValueError):
        pool.append_lite3(b"", Durability.FAST)
    with pytest.raises(CorruptError):
        pool.append_lite3(b"not lite3 at all", Durability.FAST)


def test_get_checks_its_argument_and_reports_missing_messages(pool):
    with pytest.raises(TypeError):
        pool.get("1")
    with pytest.raises(ValueError):
        pool.get(-1)
    with pytest.raises(NotFoundError) as e:
        pool.get(5)
    assert e.value.seq == 5 and e.value.hint
    with pytest.raises(NotFoundError):
        pool.get_json(5)
    with pytest.raises(NotFoundError):
        pool.get_lite3(5)


def test_parse_message_reads_envelopes(pool):
    raw = pool.append({"a": [1, 2]}, ["x"]).raw
    m = plasmite.parse_message(raw)
    assert (m.seq, m.data, m.tags, m.raw) == (1, {"a": [1, 2]}, ["x"], raw)
    assert m == pool.get(1)
    assert m.time == pool.get(1).time
    with pytest.raises(TypeError):
        plasmite.parse_message("{}")
    with pytest.raises(ValueError):
        plasmite.parse_message(b"[1]")
    bare = plasmite.parse_message(b'{"seq": 3, "time": "2026-01-02T03:04:05.123456789Z"}')
    assert bare.tags == [] and bare.data is None
    assert bare.time == dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)


def test_pool_info_has_the_cli_shape(pool):
    pool.append({"a": 1})
    info = pool.info()
    assert info["name"] == "events" and info["bounds"] == {"oldest": 1, "newest": 1}
    assert info["metrics"]["message_count"] == 1


def test_corrupt_payloads_surface_as_corrupt_errors(client, pool_dir):
    p = client.create_pool("bad")
    m = p.append({"text": "x" * 64})
    offset = p.info()["ring_offset"]
    with open(pool_dir / "bad.plasmite", "r+b") as f:
        f.seek(offset)
        data = bytearray(f.read(8192))
        idx = data.find(b"x" * 64)
        assert idx > 0
        data[idx + 10] = ord("y")
        f.seek(offset)
        f.write(data)
    with pytest.raises(CorruptError) as e:
        client.open_pool("bad").get(m.seq)
    assert e.value.seq == m.seq and e.value.hint


def test_error_texts_name_no_command_line_flag(client, pool):
    errors = []
    for call in (
        lambda: client.create_pool("events"),
        lambda: client.open_pool("nope"),
        lambda: client.create_pool("tiny", 10),
        lambda: pool.get(77),
        lambda: pool.append_json(b"{", [], Durability.FAST),
        lambda: pool.append({"x": "y" * 2_000_000}),
        lambda: pool.tail(where="(("),
        lambda: client.open_pool("http://host/pool"),
    ):
        with pytest.raises(PlasmiteError) as e:
            call()
        errors.append(e.value)
    for e in errors:
        assert e.hint, repr(e)
        for text in (e.message, e.hint):
            assert "--" not in text and "pls " not in text, repr(e)

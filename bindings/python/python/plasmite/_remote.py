"""Remote pools over the HTTP v0 routes of ``pls serve``, with the standard library only.

Invariants:
- Remote calls return the same ``Message`` objects and raise the same ``PlasmiteError``
  subclasses as local ones (made from the server's ``{"error": {...}}`` object, with
  ``status``). A server that cannot be reached is ``IoError``.
- A tail without ``timeout_ms`` never ends on its own: when the server ends a response (at its
  longest tail time), the tail reconnects after the last message it delivered, so nothing is
  lost or repeated.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from ._native import Message, MessageMeta, parse_rfc3339_ns
from ._support import Durability, IoError, NotFoundError, _from_json, _time_from_ns

DEFAULT_POOL_SIZE = 1024 * 1024


def _tags(tags: Union[None, str, Iterable[str]]) -> List[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        return [tags]
    out = list(tags)
    for t in out:
        if not isinstance(t, str):
            raise TypeError("tags must be strings")
    return out


def _durability(d: Any) -> str:
    if d is None:
        return "fast"
    if isinstance(d, str) and d.lower() in ("fast", "flush"):
        return d.lower()
    if isinstance(d, int) and not isinstance(d, bool) and d in (0, 1):
        return "flush" if d == 1 else "fast"
    raise ValueError("durability must be Durability.FAST or Durability.FLUSH")


def _message(obj: Any, raw: Optional[bytes] = None) -> Message:
    """A ``Message`` of an envelope object ``{"seq", "time", "meta", "data"}``."""
    if not isinstance(obj, dict):
        raise ValueError("message must be a JSON object")
    seq = obj.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("message seq must be a non-negative integer")
    t = obj.get("time")
    if not isinstance(t, str):
        raise ValueError("message time must be a string")
    meta = obj.get("meta")
    tags = meta.get("tags") if isinstance(meta, dict) else None
    tags = [str(x) for x in tags] if isinstance(tags, list) else []
    when = _time_from_ns(max(parse_rfc3339_ns(t), 0))
    if raw is None:
        raw = json.dumps(
            {"seq": seq, "time": t, "meta": {"tags": tags}, "data": obj.get("data")},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    return Message(seq, when, t, obj.get("data"), MessageMeta(tags), raw)


def parse_message(payload: Union[bytes, bytearray, memoryview]) -> Message:
    """A ``Message`` of envelope bytes (what ``append_json``, ``get_json`` and streams return)."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError("payload must be bytes, bytearray or memoryview")
    raw = bytes(payload)
    return _message(json.loads(raw), raw)


class RemoteClient:
    """A ``pls serve`` server: ``RemoteClient("http://127.0.0.1:9700", token=...)``."""

    def __init__(self, url: str, token: Optional[str] = None, *, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("remote base URL must use http or https")
        if not parts.netloc:
            raise ValueError("remote base URL must name a host")
        if parts.path not in ("", "/"):
            raise ValueError("remote base URL must not include a path")
        self.base_url = f"{parts.scheme.lower()}://{parts.netloc}"
        self.token = token
        self.timeout = timeout
        self._closed = False

    def with_token(self, token: Optional[str]) -> "RemoteClient":
        self.token = token
        return self

    # -- transport ---------------------------------------------------------------------------

    def _open(
        self,
        method: str,
        path: str,
        body: Optional[bytes] = None,
        query: Optional[List[Tuple[str, Any]]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        if self._closed:
            raise _closed_error("client")
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, data=body, method=method)
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw).get("error")
            except (ValueError, AttributeError):
                err = {"kind": "Io", "message": f"HTTP {e.code}: {raw[:200]!r}"}
            raise _from_json(err, status=e.code) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise IoError(
                8,
                f"cannot reach {self.base_url}: {reason}",
                hint="Check the server URL and that the server is running.",
            ) from None

    def _json(self, method: str, path: str, body: Any = None, query: Optional[List[Tuple[str, Any]]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        with self._open(method, path, data, query) as resp:
            return json.loads(resp.read() or b"null")

    @staticmethod
    def _seg(pool: str) -> str:
        if not isinstance(pool, str) or not pool:
            raise ValueError("pool is required")
        return urllib.parse.quote(pool, safe="")

    # -- pools -------------------------------------------------------------------------------

    def create_pool(self, pool: str, size_bytes: int = DEFAULT_POOL_SIZE) -> "RemotePool":
        self._seg(pool)
        self._json("POST", "/v0/pools", {"pool": pool, "size_bytes": size_bytes or None})
        return RemotePool(self, pool)

    def open_pool(self, pool: str) -> "RemotePool":
        self._seg(pool)
        self._json("POST", "/v0/pools/open", {"pool": pool})
        return RemotePool(self, pool)

    def pool(self, pool: str, size_bytes: int = DEFAULT_POOL_SIZE) -> "RemotePool":
        try:
            return self.open_pool(pool)
        except NotFoundError:
            return self.create_pool(pool, size_bytes)

    def pool_info(self, pool: str) -> Dict[str, Any]:
        info: Dict[str, Any] = self._json("GET", f"/v0/pools/{self._seg(pool)}/info")["pool"]
        return info

    def list_pools(self) -> List[Dict[str, Any]]:
        pools: List[Dict[str, Any]] = self._json("GET", "/v0/pools")["pools"]
        return pools

    def delete_pool(self, pool: str) -> None:
        self._json("DELETE", f"/v0/pools/{self._seg(pool)}")

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "RemoteClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteClient({self.base_url!r})"


def _closed_error(what: str) -> Exception:
    from ._support import UsageError

    return UsageError(2, f"{what} is closed", hint=f"Open a new {what}.")


class RemotePool:
    """A pool on a server: append, get, tail, info."""

    def __init__(self, client: RemoteClient, pool: str) -> None:
        self.client = client
        self.name = pool
        self._path = f"/v0/pools/{RemoteClient._seg(pool)}"
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise _closed_error("pool")

    def append(
        self,
        value: Any,
        tags: Union[None, str, Iterable[str]] = None,
        durability: Durability = Durability.FAST,
    ) -> Message:
        self._check()
        body = {"data": value, "tags": _tags(tags), "durability": _durability(durability)}
        return _message(self.client._json("POST", self._path + "/append", body)["message"])

    def append_json(
        self,
        payload: Union[bytes, bytearray, memoryview],
        tags: Union[None, str, Iterable[str]] = None,
        durability: Durability = Durability.FAST,
    ) -> bytes:
        self._check()
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError("payload must be bytes, bytearray or memoryview")
        payload = bytes(payload)
        if not payload:
            raise ValueError("payload must not be empty")
        body = (
            b'{"data":'
            + payload
            + b',"tags":'
            + json.dumps(_tags(tags)).encode()
            + b',"durability":"'
            + _durability(durability).encode()
            + b'"}'
        )
        with self.client._open("POST", self._path + "/append", body) as resp:
            env = json.loads(resp.read())["message"]
        return _message(env).raw

    def get(self, seq: int) -> Message:
        self._check()
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise TypeError("seq must be an int")
        if seq < 0:
            raise ValueError("seq must be a non-negative 64-bit int")
        return _message(self.client._json("GET", f"{self._path}/messages/{seq}")["message"])

    def get_json(self, seq: int) -> bytes:
        return self.get(seq).raw

    def info(self) -> Dict[str, Any]:
        self._check()
        info: Dict[str, Any] = self.client._json("GET", self._path + "/info")["pool"]
        return info

    def tail(
        self,
        since_seq: Optional[int] = None,
        max_messages: Optional[int] = None,
        timeout_ms: Optional[int] = None,
        tags: Union[None, str, Iterable[str]] = None,
        error_on_gap: bool = False,
        *,
        where: Union[None, str, Iterable[str]] = None,
        live: bool = False,
        last: Optional[int] = None,
    ) -> "RemoteTail":
        self._check()
        for name, v in (("since_seq", since_seq), ("max_messages", max_messages),
                        ("timeout_ms", timeout_ms), ("last", last)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise TypeError(f"{name} must be an int")
            if v is not None and v < 0:
                raise ValueError(f"{name} must be a non-negative 64-bit int")
        if sum((since_seq is not None, bool(live), last is not None)) > 1:
            raise ValueError("since_seq, live and last are exclusive: give at most one")
        return RemoteTail(self, since_seq, max_messages, timeout_ms, _tags(tags),
                          error_on_gap, _tags(where), live, last)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "RemotePool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemotePool({self.client.base_url!r}, {self.name!r})"


class RemoteTail:
    """An iterator of ``Message`` read from a server's JSON Lines tail."""

    def __init__(self, pool: RemotePool, since_seq: Optional[int], max_messages: Optional[int],
                 timeout_ms: Optional[int], tags: List[str], error_on_gap: bool,
                 wheres: List[str], live: bool, last: Optional[int]) -> None:
        self._pool = pool
        self._since = since_seq
        self._remaining = max_messages
        self._timeout_ms = timeout_ms
        self._tags = tags
        self._gap = error_on_gap
        self._wheres = wheres
        self._live = live
        self._last = last
        self._resp: Any = None
        self._done = False
        self._first = True

    def _connect(self) -> None:
        query: List[Tuple[str, Any]] = []
        if self._first and self._live:
            query.append(("last", 0))
        elif self._first and self._last is not None:
            query.append(("last", self._last))
        elif self._since is not None:
            query.append(("since_seq", self._since))
        if self._remaining is not None:
            query.append(("max", self._remaining))
        if self._timeout_ms is not None:
            query.append(("timeout_ms", self._timeout_ms))
        if self._gap:
            query.append(("gap_policy", "error"))
        query += [("tag", t) for t in self._tags]
        query += [("where", w) for w in self._wheres]
        if self._first and (self._live or self._last is not None):
            # Where a reconnect resumes when this response delivers nothing: after the newest
            # message now.
            bounds = self._pool.info().get("bounds") or {}
            self._since = (bounds.get("newest") or 0) + 1
        self._first = False
        timeout = None if self._timeout_ms is None else self._timeout_ms / 1000 + 30
        self._resp = self._pool.client._open("GET", self._pool._path + "/tail", None, query,
                                             timeout=timeout or 3600)

    def __iter__(self) -> "RemoteTail":
        return self

    def __next__(self) -> Message:
        m = self.next_message()
        if m is None:
            raise StopIteration
        return m

    def next_message(self) -> Optional[Message]:
        """The next message, waiting for it; ``None`` at the end."""
        while not self._done:
            if self._remaining is not None and self._remaining <= 0:
                break
            if self._resp is None:
                self._connect()
            try:
                line = self._resp.readline()
            except (OSError, ValueError, AttributeError):
                if self._done:
                    break
                raise
            if not line:
                self._resp.close()
                self._resp = None
                if self._timeout_ms is not None:
                    break
                continue
            if not line.strip():
                continue
            obj = json.loads(line)
            if isinstance(obj, dict) and "error" in obj and "seq" not in obj:
                self.close()
                raise _from_json(obj["error"], status=200)
            m = _message(obj, line.rstrip(b"\r\n"))
            self._since = m.seq + 1
            if self._remaining is not None:
                self._remaining -= 1
            return m
        self.close()
        return None

    @property
    def ended(self) -> bool:
        return self._done

    def close(self) -> None:
        self._done = True
        resp, self._resp = self._resp, None
        if resp is not None:
            try:
                resp.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def __enter__(self) -> "RemoteTail":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

#!/usr/bin/env python3
"""The Python runner of the conformance suite (spec/CONFORMANCE.md).

Runs manifests through the ``plasmite`` package (local pools, the native extension) and prints,
per manifest, ``conformance: N passed, M failed, K unsupported (python: PATH)``; failed steps
as ``step I (ID): REASON`` and unsupported ones as ``step I (ID): unsupported FEATURE: WHY`` on
stderr. Every step is run and counted. Exit 1 when a step failed, 2 when a manifest could not
be read. The command line (``spawn_poke``, ``spawn_reader``) is ``$PLASMITE_BIN``.

Usage: runner.py MANIFEST...
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import plasmite

KINDS = {1: "Internal", 2: "Usage", 3: "NotFound", 4: "AlreadyExists", 5: "Busy",
         6: "Permission", 7: "Corrupt", 8: "Io", 9: "RetentionGap"}


# Features (spec/CONFORMANCE.md §5) this package does not offer.
UNSUPPORTED = {"append_batch"}


class Fail(Exception):
    pass


class Unsupported(Exception):
    def __init__(self, feature: str, why: str) -> None:
        super().__init__(f"{feature}: {why}")
        self.feature, self.why = feature, why


def failure(e: plasmite.PlasmiteError) -> dict:
    return {"kind": KINDS.get(int(e.kind), "Internal"), "message": e.message or "",
            "has_path": e.path is not None, "seq": e.seq, "has_offset": e.offset is not None}


def describe(f: dict) -> str:
    s = f"{f['kind']}: {f['message']}"
    return s + (f" (seq: {f['seq']})" if f["seq"] is not None else "")


def tags_of(v) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        raise Fail("tags must be array")
    if not all(isinstance(t, str) for t in v):
        raise Fail("expected string array")
    return v


def messages_of(v) -> list:
    if not isinstance(v, list):
        raise Fail("input.messages must be array")
    out = []
    for m in v:
        if "data" not in m:
            raise Fail("message.data is required")
        out.append((m["data"], tags_of(m.get("tags"))))
    return out


def same(a, b) -> bool:
    """JSON equality that tells true from 1 and 1 from 1.0 apart where JSON text does."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) is type(b) and a == b
    return a == b


def match_error(w: dict, e: dict) -> None:
    kind = w.get("kind")
    if not isinstance(kind, str):
        raise Fail("expect.error.kind is required")
    if kind != e["kind"]:
        raise Fail(f"expected error kind {kind}, got {e['kind']}")
    sub = w.get("message_contains")
    if isinstance(sub, str) and sub not in e["message"]:
        raise Fail(f"expected message to contain '{sub}', got '{e['message']}'")
    for key, has, what in (("has_path", e["has_path"], "path"),
                           ("has_seq", e["seq"] is not None, "seq"),
                           ("has_offset", e["has_offset"], "offset")):
        if isinstance(w.get(key), bool) and w[key] != has:
            raise Fail(f"{what} presence mismatch")
    if isinstance(w.get("seq"), int) and e["seq"] != w["seq"]:
        raise Fail(f"expected error seq {w['seq']}, got {e['seq']}")


def check_error(expect: dict, op):
    """Runs ``op``; its result, or None when an expected error matched."""
    want = expect.get("error")
    try:
        got = op()
    except plasmite.PlasmiteError as err:
        e = failure(err)
        if want is None:
            raise Fail(f"unexpected error: {describe(e)}")
        match_error(want, e)
        return None
    if want is not None:
        raise Fail("expected error but operation succeeded")
    return got


def msg_matches(w: dict, m: dict) -> bool:
    return (("data" not in w or same(w["data"], m["data"]))
            and ("tags" not in w or w["tags"] == m["tags"])
            and ("seq" not in w or w["seq"] == m["seq"]))


def check_messages(expect: dict, got: list, required: bool) -> None:
    ordered, unordered = expect.get("messages"), expect.get("messages_unordered")
    if ordered is not None and unordered is not None:
        raise Fail("expect.messages and expect.messages_unordered are mutually exclusive")
    if ordered is None and unordered is None:
        if required:
            raise Fail("expect.messages or expect.messages_unordered is required")
        return
    want = ordered if ordered is not None else unordered
    if len(want) != len(got):
        raise Fail(f"expected {len(want)} messages, got {len(got)} (seqs {[m['seq'] for m in got]})")
    if any(a["seq"] >= b["seq"] for a, b in zip(got, got[1:])):
        raise Fail("tail messages out of order")
    if ordered is not None:
        for i, (w, g) in enumerate(zip(want, got)):
            if not msg_matches(w, g):
                raise Fail(f"message mismatch at {i}: expected {json.dumps(w)}, got seq {g['seq']}")
    else:
        used = [False] * len(got)
        for w in want:
            j = next((j for j in range(len(got)) if not used[j] and msg_matches(w, got[j])), None)
            if j is None:
                raise Fail(f"message mismatch: nothing matches {json.dumps(w)}")
            used[j] = True


def as_msg(m) -> dict:
    return {"seq": m.seq, "data": m.data, "tags": list(m.tags)}


class Run:
    def __init__(self, manifest: Path, workdir: Path) -> None:
        self.dir = manifest.parent
        self.workdir = workdir
        self.client = plasmite.Client(str(workdir))
        self.readers: dict = {}
        self.pls = os.environ.get("PLASMITE_BIN", "pls")

    def resolve(self, pool: str) -> Path:
        if "/" in pool:
            return Path(pool)
        return self.workdir / (pool if pool.endswith(".plasmite") else pool + ".plasmite")

    def open(self, pool: str):
        return self.client.open_pool(pool)

    def side_append(self, pool: str, data, tags) -> int:
        with self.open(pool) as p:
            return p.append(data, tags).seq

    def fill_past(self, pool: str, seq: int) -> None:
        with self.open(pool) as p:
            for n in range(10_000):
                try:
                    p.get(seq)
                except plasmite.NotFoundError:
                    return
                p.append({"i": n, "padding": "x" * 4096}, [])
        raise Fail(f"sequence {seq} remained retained after filling pool")

    def tail(self, pool: str, inp: dict, hook) -> tuple:
        where = inp.get("where")
        where = [where] if isinstance(where, str) else (where or [])
        start = inp.get("start", "oldest")
        gap = inp.get("gap", "continue")
        if start not in ("oldest", "live", "last"):
            raise Fail(f"invalid input.start: {start}")
        if gap not in ("continue", "error"):
            raise Fail(f"invalid input.gap: {gap}")
        kwargs = {"where": where or None, "live": start == "live",
                  "last": inp.get("last", 1) if start == "last" else None}
        messages, error = [], None
        try:
            t = self.open(pool).tail(inp.get("since_seq"), inp.get("max"),
                                     inp.get("timeout_ms", 1000), tags_of(inp.get("tags")),
                                     gap == "error", **kwargs)
        except plasmite.PlasmiteError as err:
            return [], failure(err)
        with t:
            hook(0)
            try:
                for m in t:
                    messages.append(as_msg(m))
                    hook(len(messages))
            except plasmite.PlasmiteError as err:
                error = failure(err)
        return messages, error

    def step(self, step: dict) -> None:
        op = step.get("op")
        if not isinstance(op, str):
            raise Fail("missing op")
        op = "get" if op == "fetch" else op
        for feature in step.get("requires") or []:
            if feature in UNSUPPORTED:
                raise Unsupported(feature, "a step this one builds on needs it")
        inp = step.get("input") or {}
        expect = step.get("expect") or {}

        def pool() -> str:
            if not isinstance(step.get("pool"), str):
                raise Fail("missing pool")
            return step["pool"]

        if op == "create_pool":
            check_error(expect, lambda: self.client.create_pool(pool(), inp.get("size_bytes", 1048576)).close())
        elif op == "append":
            if "input" not in step:
                raise Fail("missing input")
            if "data" not in inp:
                raise Fail("missing input.data")
            tags = tags_of(inp.get("tags"))
            seq = check_error(expect, lambda: self.open(pool()).append(inp["data"], tags).seq)
            if seq is not None and "seq" in expect and expect["seq"] != seq:
                raise Fail(f"expected seq {expect['seq']}, got {seq}")
        elif op == "append_batch":
            raise Unsupported("append_batch", "the package appends one message per call")
        elif op == "append_many":
            count, base = inp.get("count", 1), inp.get("data", {})
            tags = tags_of(inp.get("tags"))
            if not isinstance(base, dict):
                raise Fail("input.data must be an object")

            def many():
                with self.open(pool()) as p:
                    last = None
                    for k in range(1, count + 1):
                        last = p.append({**base, "i": k}, tags).seq
                    return last
            last = check_error(expect, many)
            if last is not None and "last_seq" in expect and expect["last_seq"] != last:
                raise Fail(f"expected last_seq {expect['last_seq']}, got {last}")
        elif op == "get":
            if not isinstance(inp.get("seq"), int):
                raise Fail("missing input.seq")
            m = check_error(expect, lambda: as_msg(self.open(pool()).get(inp["seq"])))
            if m is not None:
                if "data" in expect and not same(expect["data"], m["data"]):
                    raise Fail(f"data mismatch: expected {json.dumps(expect['data'])}, got {json.dumps(m['data'])}")
                if "tags" in expect and tags_of(expect["tags"]) != m["tags"]:
                    raise Fail("tags mismatch")
                if m["seq"] != inp["seq"]:
                    raise Fail(f"expected seq {inp['seq']}, got {m['seq']}")
        elif op == "tail":
            after = messages_of(inp["append_after_open"]) if "append_after_open" in inp else []
            name = pool()

            def hook(n: int) -> None:
                if n == 0:
                    for d, t in after:
                        self.side_append(name, d, t)
            messages, error = self.tail(name, inp, hook)
            want = expect.get("error")
            if error is None and want is not None:
                raise Fail("expected error but operation succeeded")
            if error is not None and want is None:
                raise Fail(f"unexpected error: {describe(error)}")
            if error is not None:
                match_error(want, error)
            check_messages(expect, messages, want is None)
        elif op == "retention_gap":
            self.retention_gap(pool(), inp.get("size_bytes", 65536))
        elif op == "list_pools":
            names = check_error(expect, lambda: [p["name"] for p in self.client.list_pools()])
            if names is not None and "names" in expect:
                if sorted(tags_of(expect["names"])) != sorted(names):
                    raise Fail(f"pool list mismatch: expected {sorted(expect['names'])}, got {sorted(names)}")
        elif op == "pool_info":
            info = check_error(expect, lambda: self.client.pool_info(pool()))
            if info is not None:
                for key in ("file_size", "ring_size"):
                    if key in expect and expect[key] != info.get(key):
                        raise Fail(f"{key} mismatch: expected {expect[key]}, got {info.get(key)}")
                bounds = info.get("bounds") or {}
                for key, want in (expect.get("bounds") or {}).items():
                    if want is not None and not isinstance(want, int):
                        raise Fail(f"bounds.{key} must be a number or null")
                    if bounds.get(key) != want:
                        raise Fail(f"bounds.{key} mismatch")
        elif op == "delete_pool":
            check_error(expect, lambda: self.client.delete_pool(pool()))
        elif op == "spawn_poke":
            procs = []
            for data, tags in messages_of(inp.get("messages")):
                cmd = [self.pls, "--dir", str(self.workdir), "feed", pool(), json.dumps(data)]
                for t in tags:
                    cmd += ["--tag", t]
                procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL))
            if not all(p.wait() == 0 for p in procs):
                raise Fail("feed process failed")
        elif op == "corrupt_pool_header":
            self.resolve(pool()).write_bytes(b"NOPE")
        elif op == "install_pool":
            shutil.copyfile(self.dir / "pools" / inp["fixture"], self.resolve(pool()))
        elif op == "chmod_path":
            if "path" not in inp:
                raise Fail("missing input.path")
            try:
                mode = int(inp.get("mode", ""), 8)
            except ValueError:
                raise Fail("invalid input.mode")
            os.chmod(inp["path"], mode)
        elif op == "spawn_reader":
            self.spawn_reader(pool(), inp)
        elif op == "await_reader":
            r = self.readers.pop(inp.get("name"), None)
            if r is None:
                raise Fail(f"no reader named {inp.get('name')}")
            proc, thread, lines = r
            thread.join()
            proc.kill()
            proc.wait()
            got = []
            for line in lines:
                v = json.loads(line)
                got.append({"seq": v["seq"], "data": v["data"], "tags": v["meta"]["tags"]})
            check_messages(expect, got, True)
        else:
            raise Fail(f"unknown op: {op}")

    def spawn_reader(self, pool: str, inp: dict) -> None:
        cmd = [self.pls, "--dir", str(self.workdir), "follow", pool, "--jsonl", "--tail",
               "1000000000", "--where", f".seq >= {inp.get('since_seq', 1)}",
               "--timeout", f"{inp.get('timeout_ms', 10000)}ms"]
        for t in tags_of(inp.get("tags")):
            cmd += ["--tag", t]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines: list = []
        want = inp.get("max", 1)

        def read() -> None:
            for line in proc.stdout:
                lines.append(line)
                if len(lines) >= want:
                    break
        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        path = str(self.resolve(pool).resolve())
        for _ in range(500):
            try:
                if path in Path(f"/proc/{proc.pid}/maps").read_text():
                    time.sleep(0.03)
                    break
            except OSError:
                pass
            time.sleep(0.01)
        self.readers[inp["name"]] = (proc, thread, lines)

    def retention_gap(self, base: str, size: int) -> None:
        stale = f"{base}-stale"
        self.client.create_pool(stale, size).close()
        first = self.side_append(stale, {"kind": "first"}, [])
        self.fill_past(stale, first)
        msgs, err = self.tail(stale, {"since_seq": first, "max": 1}, lambda n: None)
        if err is not None or len(msgs) != 1 or msgs[0]["seq"] <= first:
            raise Fail("default tail did not continue after gap")
        msgs, err = self.tail(stale, {"since_seq": first, "gap": "error", "tags": ["never"]}, lambda n: None)
        if msgs or err is None or err["kind"] != "RetentionGap" or err["seq"] != first:
            raise Fail(f"fail-closed tail did not fail with RetentionGap at {first}: {err}")
        est = f"{base}-established"
        self.client.create_pool(est, size).close()
        s1 = self.side_append(est, {"kind": "seed"}, [])
        self.side_append(est, {"kind": "second"}, [])
        missing = []

        def hook(n: int) -> None:
            if n == 2:
                m = self.side_append(est, {"kind": "first-missing"}, [])
                missing.append(m)
                self.fill_past(est, m)
        msgs, err = self.tail(est, {"since_seq": s1, "gap": "error"}, hook)
        seqs = [m["seq"] for m in msgs]
        if seqs != [s1, s1 + 1]:
            raise Fail(f"tail established the wrong sequence: {seqs}")
        if err is None or err["kind"] != "RetentionGap" or err["seq"] != (missing or [None])[0]:
            raise Fail(f"gap after an established position: expected RetentionGap at {missing}, got {err}")


def run_manifest(path: Path) -> tuple:
    try:
        m = json.loads(path.read_text())
    except OSError as e:
        raise SystemExit(f"failed to read manifest: {e}")
    except json.JSONDecodeError as e:
        raise SystemExit(f"failed to parse manifest json: {e}")
    if "conformance_version" not in m:
        raise SystemExit("missing conformance_version")
    if m["conformance_version"] != 0:
        raise SystemExit(f"unsupported conformance_version: {m['conformance_version']}")
    if not isinstance(m.get("steps"), list):
        raise SystemExit("manifest steps must be an array")
    workdir = path.parent / (m.get("workdir") or "work")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    run = Run(path, workdir)
    passed = failed = unsupported = 0
    for i, step in enumerate(m["steps"]):
        label = f"step {i} ({step['id']})" if isinstance(step.get("id"), str) else f"step {i}"
        try:
            run.step(step)
            passed += 1
        except Fail as f:
            print(f"{label}: {f}", file=sys.stderr)
            failed += 1
        except Unsupported as u:
            print(f"{label}: unsupported {u.feature}: {u.why}", file=sys.stderr)
            unsupported += 1
        except Exception as e:  # a runner bug or an unexpected exception type is a failure
            print(f"{label}: {type(e).__name__}: {e}", file=sys.stderr)
            failed += 1
    for proc, _, _ in run.readers.values():
        proc.kill()
    return passed, failed, unsupported


def main(argv: list) -> int:
    if not argv:
        print("usage: runner.py MANIFEST...", file=sys.stderr)
        return 2
    status = 0
    for arg in argv:
        try:
            p, f, u = run_manifest(Path(arg))
        except SystemExit as e:
            print(f"conformance: {arg}: {e}", file=sys.stderr)
            return 2
        print(f"conformance: {p} passed, {f} failed, {u} unsupported (python: {arg})")
        if f:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

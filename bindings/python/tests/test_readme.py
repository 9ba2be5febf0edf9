"""The Python example of the seed README runs as written."""

import json


def test_seed_readme_example_runs_verbatim(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from plasmite import Client, Durability
    client = Client("./data")
    pool = client.create_pool("events", 1024*1024)
    pool.append_json(b'{"sensor": "temp", "value": 23.5}', [], Durability.FAST)

    assert (tmp_path / "data" / "events.plasmite").exists()
    env = json.loads(pool.get_json(1))
    assert env["data"] == {"sensor": "temp", "value": 23.5}

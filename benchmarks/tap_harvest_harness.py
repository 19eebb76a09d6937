"""Run the unmodified Singer tap ``tap-harvest`` against the simulator.

This script runs with the *tap's own* virtualenv Python (``benchmarks/.venv-tap-harvest``,
made by ``bench_tap_harvest.py``), never the project's: the tap pins its own
``requests``, ``singer-python`` and ``backoff``. Nothing of the tap is edited; at run time
two URLs are re-pointed:

- ``tap_harvest.client.REFRESH_URL`` (Harvest ID, ``https://id.getharvest.com/api/v2``)
  becomes ``<sim.id_base_url>/api/v2`` — token refresh and ``/accounts``;
- ``Client.base_url`` (``https://api.harvestapp.com/v2``, set in ``Client.__init__``)
  becomes ``sim.base_url`` on each instance, right after construction.

Commands::

    python tap_harvest_harness.py catalog OUT.json [STREAM ...]
        Write the tap's discovered catalog with only STREAMs selected
        (default: time_entries).
    python tap_harvest_harness.py run CONFIG.json CATALOG.json API_URL ID_URL
        Run the tap's sync (``tap_harvest.main``) exactly as ``tap-harvest --config
        CONFIG.json --catalog CATALOG.json`` would, Singer messages on stdout. The
        seconds ``main()`` took are written last on stderr as ``HARNESS_SECONDS <s>``.
"""

from __future__ import annotations

import json
import sys
import time


def make_catalog(out: str, streams: list[str]) -> None:
    from tap_harvest.discover import discover

    catalog = discover().to_dict()
    for entry in catalog["streams"]:
        selected = entry["tap_stream_id"] in streams
        for item in entry["metadata"]:
            if not list(item["breadcrumb"]):
                item["metadata"]["selected"] = selected
    with open(out, "w") as f:
        json.dump(catalog, f)


def run(config: str, catalog: str, api_url: str, id_url: str) -> None:
    import tap_harvest
    import tap_harvest.client as tap_client

    tap_client.REFRESH_URL = id_url.rstrip("/") + "/api/v2"
    original_init = tap_client.Client.__init__

    def patched_init(self: object, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        self.base_url = api_url.rstrip("/")  # type: ignore[attr-defined]

    tap_client.Client.__init__ = patched_init  # type: ignore[method-assign]
    sys.argv = ["tap-harvest", "--config", config, "--catalog", catalog]
    start = time.perf_counter()
    try:
        tap_harvest.main()
    finally:
        sys.stdout.flush()
        print(f"HARNESS_SECONDS {time.perf_counter() - start:.6f}", file=sys.stderr, flush=True)


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "catalog":
        make_catalog(sys.argv[2], sys.argv[3:] or ["time_entries"])
    elif len(sys.argv) == 6 and sys.argv[1] == "run":
        run(*sys.argv[2:6])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()

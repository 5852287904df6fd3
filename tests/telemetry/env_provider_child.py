"""Run alone (fresh interpreter): a provider named by ``OTEL_PYTHON_TRACER_PROVIDER``,
set after the engine's telemetry first looked, is seen once `ENV_RECHECK` has passed —
without the environment being read at every commit meanwhile."""

from __future__ import annotations

import os
import time

from aion_actors.telemetry import otel

looked = time.monotonic()
assert not otel.configured()
os.environ["OTEL_PYTHON_TRACER_PROVIDER"] = "sdk_tracer_provider"
seen = otel.configured()  # within ENV_RECHECK of the last look: the environment is not read
assert not seen or time.monotonic() - looked >= otel.ENV_RECHECK
time.sleep(otel.ENV_RECHECK * 1.2)
assert otel.configured()  # read again: the variable names the SDK's provider
print("ok")

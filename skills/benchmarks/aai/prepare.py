"""``ns prepare_data aai``: every member's data, each prepared as by ``ns prepare_data <member>`` with
its default splits (the reference's group prepare names a stale list: math-500 and aime24, no
aime25 or ifbench). HLE is gated (``HF_TOKEN``) and SciCode downloads its 1.05 GB targets."""

from __future__ import annotations

import dataclasses

from skills.benchmarks.aai import BENCHMARK
from skills.config.errors import UsageError
from skills.data.fields import reject_extra
from skills.registry.benchmarks import prepare_function


def prepare(ctx):
    reject_extra("aai", ctx.extra)
    if ctx.split:
        raise UsageError("aai: --split does not apply to a group (its members have their own splits)")
    written = []
    for member in BENCHMARK.members:
        fn = prepare_function(member)
        if fn is None:
            raise UsageError(f"aai: member {member} has no data to prepare")
        print(f"aai: preparing {member}", flush=True)
        written.extend(fn(dataclasses.replace(ctx, extra={})) or [])
    return written

"""Parallel thinking: GenSelect and GenSynthesis over several candidate solutions of one row.

``++parallel_thinking.mode=genselect`` asks the model which of N candidate solutions is best and
keeps that candidate; ``gensynthesis`` asks it to write a new solution from them. The candidates are
generated in the same job (online: ``window_size`` requests per row, each through the task's own
per-row path with its own seed) or read from an earlier run's ``output-rs*.jsonl`` files (offline:
``++parallel_thinking.generation_dir``). The rules follow the reference's ``ParallelThinkingTask``
(NeMo-Skills 0b012df8), so a seed gives the same candidate seeds, order, prompt and fallbacks:

- one ``random.Random(inference.random_seed)`` per row draws, in this order: the candidates' seeds
  (``getrandbits(32)`` each, online), the shuffle of the candidates, the fallback choice;
- a candidate is its ``solution_key`` field; with ``parse_reasoning_solutions`` the text after the
  last ``end_reasoning_string`` (stripped) when there is one and it is not empty; longer than
  ``solution_length_cap`` characters: dropped (before the shuffle); empty, with
  ``filter_incomplete_solutions``: dropped (after it);
- offline, candidates are matched to rows by the prompt their line would get, and the first
  ``window_size`` of the shuffled list are compared;
- the selection prompt (``genselect.prompt_config`` / ``gensynthesis.prompt_config``, read like any
  prompt config, so the reference's own wording from the fetched set) is filled with ``problem`` (the
  row's prompt text: the first message's content), ``solutions`` (``Solution i: <text>`` joined by a
  blank line), ``num_solutions`` and ``max_idx``;
- the selection request uses ``parallel_thinking.temperature`` / ``tokens_to_generate`` /
  ``endpoint_type``; GenSelect keeps every other ``++inference`` setting of the row (seed included),
  GenSynthesis sends none of them (the reference calls it without them: server defaults, no seed);
- GenSelect keeps the candidate whose index is the last regex match (an index past the last
  candidate does not count); GenSynthesis the last ``<NEW_SOLUTION>`` block, stripped; with neither,
  a random candidate and ``<mode>_successful: false``.

This module never imports ``task`` or ``settings`` (they import it, lazily): the task hands itself
in, and each request is the task's own ``process`` on a copy with parallel thinking off.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import json
import math
import random
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skills.config.errors import UsageError

MODES = ("genselect", "gensynthesis")
# the reference reads these from the top-level settings even when given under parallel_thinking.*
SHADOWED = ("parse_reasoning", "end_reasoning_string", "tokenizer", "chat_template_kwargs",
            "start_assistant_response_key", "count_prompt_tokens")


# --------------------------------------------------------------------------- checks (plan time)

def check(cfg: Any) -> None:
    """Cross-field checks of ``++parallel_thinking.*`` (called by ``check_config``)."""
    pt = cfg.parallel_thinking
    if pt.mode is None:
        return
    if pt.mode not in MODES:
        raise UsageError(f"parallel_thinking.mode must be genselect or gensynthesis, not '{pt.mode}'")
    defaults = type(pt)()
    for name in SHADOWED:
        value, top = getattr(pt, name), getattr(cfg, name)
        if value != getattr(defaults, name) and value != top:
            raise UsageError(f"++parallel_thinking.{name}={value!r} has no effect: the top-level ++{name} "
                             f"({top!r}) applies to the selection request too, as in the reference; set ++{name}")
    if cfg.start_assistant_response_key:
        raise UsageError("start_assistant_response_key cannot be combined with parallel_thinking (the selection "
                         "prompt has no such field; the reference fails on it too)")
    if pt.endpoint_type not in ("chat", "text", "responses"):
        raise UsageError(f"parallel_thinking.endpoint_type must be chat, text or responses, not '{pt.endpoint_type}'")
    if isinstance(pt.temperature, bool) or not isinstance(pt.temperature, (int, float)) \
            or not math.isfinite(pt.temperature) or pt.temperature < 0:
        raise UsageError(f"parallel_thinking.temperature must be a finite number >= 0, got {pt.temperature!r}")
    for name in ("tokens_to_generate", "num_initial_solutions"):
        value = getattr(pt, name)
        if value is not None and value < 1:
            raise UsageError(f"parallel_thinking.{name} must be >= 1 (or null), got {value}")
    if pt.window_size < 1:
        raise UsageError(f"parallel_thinking.window_size must be >= 1, got {pt.window_size}")
    if pt.solution_length_cap is not None and pt.solution_length_cap < 0:
        raise UsageError(f"parallel_thinking.solution_length_cap must be >= 0 (or null), got {pt.solution_length_cap}")
    if not pt.solution_key:
        raise UsageError("parallel_thinking.solution_key must name a field")
    if pt.num_initial_solutions is not None and not pt.generation_dir:
        raise UsageError("parallel_thinking.num_initial_solutions needs ++parallel_thinking.generation_dir "
                         "(it counts the output-rs*.jsonl files read there)")
    mode_cfg = getattr(pt, pt.mode)
    try:
        re.compile(mode_cfg.regex)
    except re.error as exc:
        raise UsageError(f"parallel_thinking.{pt.mode}.regex is not a valid regular expression: {exc}") from None
    _selection_messages(cfg, "", [""], "check")  # the prompt exists and needs no other field


def candidate_files(cfg: Any) -> List[Path]:
    """Offline: the ``output-rs*.jsonl`` files of ``generation_dir`` used, in name order (the
    reference sorts them when ``num_initial_solutions`` picks the first ones; we always do, so a
    run does not depend on the order the file system lists them)."""
    pt = cfg.parallel_thinking
    folder = Path(pt.generation_dir).expanduser()
    files = sorted(folder.glob("output-rs*.jsonl"), key=lambda p: p.name)
    if pt.num_initial_solutions is not None:
        files = files[: pt.num_initial_solutions]
    if not files:
        where = "is not a folder" if not folder.is_dir() else "has no output-rs*.jsonl files"
        raise UsageError(f"parallel_thinking.generation_dir {folder} {where} (the candidate solutions of an "
                         "earlier run with several seeds: <output_dir>/eval-results/<benchmark>)")
    return files


def fingerprint_items(cfg: Any, with_files: bool = True) -> List[Tuple[str, Any]]:
    """What a parallel-thinking row depends on besides the settings: the selection prompt's wording
    and, offline, every candidate file's content (``with_files``)."""
    from skills.config.fingerprint import digest, file_digest
    from skills.inference.prompts import load_prompt_config

    pt = cfg.parallel_thinking
    if pt.mode not in MODES:
        return []
    prompt = load_prompt_config(getattr(pt, pt.mode).prompt_config, None, 0, cfg.prompt_set_dir, cfg.data_dir,
                                None, cfg.prompt_source)
    items: List[Tuple[str, Any]] = [("parallel thinking prompt source", prompt.source),
                                    ("parallel thinking prompt wording", digest([prompt.system, prompt.user]))]
    if with_files and pt.generation_dir:
        files = candidate_files(cfg)
        # which files (a setting recorded by one side only is not compared), then each one's content
        items.append(("parallel thinking candidate files", [p.name for p in files]))
        items += [(f"parallel thinking candidates {p.name}", file_digest(p)) for p in files]
    return items


# --------------------------------------------------------------------------- the rules

def solution_text(text: str, cfg: Any) -> str:
    """A candidate's solution: the text after the last end-of-reasoning string, stripped, when it has
    one and that is not empty; else the whole text (the reference parses, then reverts an empty result)."""
    end = cfg.end_reasoning_string
    if not cfg.parallel_thinking.parse_reasoning_solutions or not end or end not in text:
        return text
    tail = text.split(end)[-1].strip()
    return tail if tail != "" else text


def prompt_key(request: Any) -> str:
    """Offline: rows and candidate lines are matched by the prompt they are sent with."""
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def problem_text(request: Any) -> str:
    """``{problem}`` of the selection prompt: a text prompt whole, else the first message's content
    (the reference's rule: with a system message, that is the system message)."""
    if isinstance(request, str):
        return request
    content = request[0].get("content") if request else None
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _selection_cfg(cfg: Any, base: Any) -> Any:
    """The config of the selection prompt's messages (no system override, examples or suffix)."""
    pt = cfg.parallel_thinking
    return dataclasses.replace(base, prompt_format="ns", prompt_config=getattr(pt, pt.mode).prompt_config,
                               system_message=None, examples_type=None, few_shot_examples=0, code_tags=None,
                               prompt_suffix="", start_assistant_response_key=None)


def _selection_messages(cfg: Any, problem: str, solutions: List[str], where: str) -> Tuple[List[dict], Dict]:
    from skills.inference.prompts import PromptBuilder

    fields = {"problem": problem,
              "solutions": "\n\n".join(f"Solution {i}: {s}" for i, s in enumerate(solutions)),
              "num_solutions": len(solutions), "max_idx": len(solutions) - 1}
    builder = PromptBuilder(_selection_cfg(cfg, cfg))
    return builder.messages(fields, where, suffix=False), fields


def selected_index(text: str, regex: str, max_idx: int) -> Optional[int]:
    """GenSelect: the last match of ``regex`` as an index, or None (no match, not a number, past the end)."""
    matches = re.findall(regex, text)
    if not matches:
        return None
    try:
        idx = int(matches[-1])
    except (TypeError, ValueError):
        return None
    return None if idx > max_idx else idx


def synthesized_solution(text: str, regex: str) -> Optional[str]:
    """GenSynthesis: the last match of ``regex`` (across lines), stripped, or None."""
    matches = re.findall(regex, text, re.DOTALL)
    if not matches:
        return None
    last = matches[-1]
    return (last if isinstance(last, str) else "".join(last)).strip()


# --------------------------------------------------------------------------- per row

class ParallelThinking:
    """One run's parallel thinking: the offline candidates (read once), the row window, the requests."""

    def __init__(self, task: Any):
        self.task = task
        self.cfg = cfg = task.cfg
        self.pt = pt = cfg.parallel_thinking
        self.offline: Optional[Dict[str, List[str]]] = self._load(task) if pt.generation_dir else None
        # rows in progress: each online row sends window_size candidate requests at once (the reference
        # divides max_concurrent_requests by it; the client's slots bound the requests themselves)
        self.rows_at_once = max(1, cfg.max_concurrent_requests // (1 if pt.generation_dir else pt.window_size))
        self._gate: Optional[Tuple[Any, asyncio.Semaphore]] = None
        self._said_empty = False
        off = dataclasses.replace(pt, mode=None)
        # candidates: the row's own settings, its seed replaced; their raw text, their token counts
        self.candidate_cfg = dataclasses.replace(cfg, parallel_thinking=off, parse_reasoning=False,
                                                 generation_key="generation", add_generation_stats=True)
        inf = cfg.inference
        if pt.mode == "genselect":  # the row's request settings, three of them replaced
            sel_inf = dataclasses.replace(inf, endpoint_type=pt.endpoint_type, temperature=pt.temperature,
                                          tokens_to_generate=pt.tokens_to_generate)
            stop_phrase = cfg.stop_phrase
        else:  # GenSynthesis: the reference passes none of the row's settings: the defaults, no seed
            sel_inf = type(inf)(endpoint_type=pt.endpoint_type, temperature=pt.temperature,
                                tokens_to_generate=pt.tokens_to_generate, timeout=inf.timeout)
            sel_inf.random_seed = None
            stop_phrase = None
        self.selection_cfg = dataclasses.replace(self.candidate_cfg, inference=sel_inf, stop_phrase=stop_phrase,
                                                 tools=None)

    # ---- offline candidates

    def _load(self, task: Any) -> Dict[str, List[str]]:
        from skills.data.io import iter_jsonl

        cfg, pt = self.cfg, self.pt
        found: Dict[str, List[str]] = {}
        for path in candidate_files(cfg):
            for lineno, line in iter_jsonl(path):
                where = f"{path}:{lineno}"
                if not isinstance(line, dict):
                    raise UsageError(f"{where}: expected a JSON object (one generation per line)")
                text = line.get(pt.solution_key)
                if not isinstance(text, str):
                    raise UsageError(f"{where}: no text field '{pt.solution_key}' (parallel_thinking.solution_key)")
                text = solution_text(text, cfg)
                if pt.solution_length_cap is not None and len(text) > pt.solution_length_cap:
                    continue
                (request,) = task.prepare([(lineno, dict(line))], path)  # the prompt this line's row gets
                found.setdefault(prompt_key(request), []).append(text)
        return found

    # ---- requests

    def _copy(self, cfg: Any) -> Any:
        other = copy.copy(self.task)
        other.cfg = cfg
        return other

    async def _candidate(self, row: Dict[str, Any], request: Any, client: Any, seed: int) -> Tuple[str, int]:
        cfg = dataclasses.replace(self.candidate_cfg,
                                  inference=dataclasses.replace(self.candidate_cfg.inference, random_seed=seed))
        out = await self._copy(cfg).process(dict(row), request, client)
        text = out.get(self.pt.solution_key)
        if not isinstance(text, str):
            raise UsageError(f"parallel_thinking.solution_key={self.pt.solution_key}: a candidate's output has no "
                             "such text field (online candidates carry 'generation')")
        return solution_text(text, self.cfg), out.get("num_generated_tokens") or 0

    async def _candidates(self, row: Dict[str, Any], request: Any, client: Any,
                          rng: random.Random) -> Tuple[List[str], int]:
        pt = self.pt
        if self.offline is not None:
            found = list(self.offline.get(prompt_key(request), []))
            rng.shuffle(found)
            solutions, tokens = found[: pt.window_size], 0
        else:
            seeds = [rng.getrandbits(32) for _ in range(pt.window_size)]
            jobs = [asyncio.ensure_future(self._candidate(row, request, client, s)) for s in seeds]
            try:
                made = await asyncio.gather(*jobs)
            except BaseException:
                for job in jobs:
                    job.cancel()
                await asyncio.gather(*jobs, return_exceptions=True)
                raise
            tokens = sum(n for _, n in made)
            solutions = [text for text, _ in made
                         if pt.solution_length_cap is None or len(text) <= pt.solution_length_cap]
            rng.shuffle(solutions)
        if pt.filter_incomplete_solutions:
            solutions = [s for s in solutions if s != ""]
        return solutions, tokens

    async def _select(self, request: Any, solutions: List[str], client: Any, where: str) -> Tuple[str, int]:
        msgs, fields = _selection_messages(self.cfg, problem_text(request), solutions, where)
        if self.pt.endpoint_type == "text":
            from skills.inference.prompts import messages_to_text

            sel_request: Any = messages_to_text(msgs, _selection_cfg(self.cfg, self.selection_cfg), fields)
        else:
            sel_request = msgs
        out = await self._copy(self.selection_cfg).process({}, sel_request, client)
        return out.get("generation") or "", out.get("num_generated_tokens") or 0

    def _gate_now(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(self.rows_at_once))
        return self._gate[1]

    async def row(self, row: Dict[str, Any], request: Any, client: Any) -> Dict[str, Any]:
        import time

        async with self._gate_now():
            start = time.time()
            out = await self._row(row, request, client)
            end = time.time()
        cfg = self.cfg
        if cfg.add_generation_stats:
            out.update(generation_start_time=start, generation_end_time=end, generation_time=end - start)
        else:
            out.pop("num_generated_tokens", None)
        for key, value in row.items():
            if key not in out:
                out[key] = value
        return out

    async def _row(self, row: Dict[str, Any], request: Any, client: Any) -> Dict[str, Any]:
        cfg, pt, mode = self.cfg, self.pt, self.pt.mode
        rng = random.Random(cfg.inference.random_seed)
        solutions, tokens = await self._candidates(row, request, client, rng)
        out: Dict[str, Any] = {cfg.generation_key: ""}
        if pt.solution_key != "generation":
            out[pt.solution_key] = ""
        if not solutions:  # nothing to compare: an empty answer, no selection request
            if not self._said_empty:
                self._said_empty = True
                where = ("no line of the candidate files has its prompt (made with other prompt settings?)"
                         if self.offline is not None else "every candidate was empty or too long")
                sys.stderr.write(f"warning: parallel thinking: a row has no candidates ({where}); "
                                 "it gets an empty generation\n")
            out.update({"solution_list": [], f"{mode}_comparison": "", f"{mode}_num_generated_tokens": 0,
                        f"{mode}_successful": False, "total_solution_generated_tokens": tokens,
                        "num_generated_tokens": tokens, "num_best_solution_generated_tokens": 0})
            return out
        text, sel_tokens = await self._select(request, solutions, client, "parallel thinking selection")
        if mode == "genselect":
            idx = selected_index(text, pt.genselect.regex, len(solutions) - 1)
            ok = idx is not None
            chosen = solutions[idx if ok else rng.randint(0, len(solutions) - 1)]
        else:
            new = synthesized_solution(text, pt.gensynthesis.regex)
            ok = new is not None
            chosen = new if ok else rng.choice(solutions)
        out[cfg.generation_key] = chosen
        if pt.solution_key != "generation":
            out[pt.solution_key] = chosen
        out.update({"solution_list": solutions, f"{mode}_comparison": text, f"{mode}_successful": ok,
                    f"{mode}_num_generated_tokens": sel_tokens, "total_solution_generated_tokens": tokens,
                    "num_generated_tokens": tokens + sel_tokens})
        return out


async def process_row(task: Any, row: Dict[str, Any], request: Any, client: Any) -> Dict[str, Any]:
    """``GenerationTask.process`` under ``++parallel_thinking.mode``: one output line from the candidates."""
    runner = getattr(task, "_parallel_thinking", None)
    if runner is None:
        runner = task._parallel_thinking = ParallelThinking(task)
    return await runner.row(row, request, client)

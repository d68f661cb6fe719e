"""BFCL v3 generation: each entry is a conversation with tools, one output line per entry.

Prompts are the data's ``question`` turns (no prompt config). Two ways to get tool calls:

- server-side parsing (``++use_client_parsing=False``): chat requests carry the entry's ``tools``;
  the server (e.g. vLLM ``--enable-auto-tool-choice --tool-call-parser NAME``) returns
  ``message.tool_calls``. A step's generation is ``[{name: arguments JSON string}]`` as returned, or
  ``[]`` for a text answer;
- client-side parsing (default, as the reference): the model's chat template is rendered here with
  the tools (from a local tokenizer folder, ``++tokenizer``, default the served model's folder), sent
  as a text completion, and parsed by ``++model_name``'s BFCL handler parser (in the bfcl
  environment) or by ``++client_parser`` (ours, e.g. ``skills_json``). A text answer stays text.

Multi-turn entries run turn by turn through gorilla's simulated APIs in a confined worker (the
build ``++bfcl_build``, default ``pinned``: gorilla at the reference's commit; ``pypi``: bfcl-eval
2025.7.17; every row records it as ``bfcl_build``, and grading uses the same build):
after each step that decodes to calls, the calls are executed and their results go back as ``tool``
messages; a step without calls ends the turn; more than bfcl-eval's step limit per turn ends the
entry (the checker then fails it). miss_func's holdout turns add the held-out functions and ask
bfcl-eval's holdout prompt. A context-window error ends the entry with ``error:
_ran_out_of_context_``. Resumable per entry like every generation program.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from skills.benchmarks.bfcl_v3 import PINNED, PYPI
from skills.config.errors import UsageError
from skills.inference.client import GenerationError
from skills.inference.config import GenerateConfig
from skills.inference.program import GenerationTask, check_config, main

OUT_OF_CONTEXT = "_ran_out_of_context_"
CONTEXT_ERRORS = ("maximum context length", "max_model_len", "maximum model length", "context length",
                  "Requested token count exceeds", "exceeds maximum input length", "should not exceed max_seq_len",
                  "reduce the length of the input", "'max_completion_tokens' is too large",
                  "max_tokens must be at least 1")


@dataclass
class BFCLGenerateConfig(GenerateConfig):
    use_client_parsing: bool = True
    model_name: Optional[str] = None  # BFCL local-model id whose parser reads completions ("-FC" added)
    client_parser: Optional[str] = None  # or our own parser: skills_json, module:function
    execute_timeout: float = 60.0  # seconds to run one step's calls in the simulated APIs
    bfcl_build: str = PINNED  # which gorilla code: pinned (the reference's commit) | pypi (bfcl-eval 2025.7.17)


@dataclass
class Step:
    message: Dict[str, Any]  # what the conversation keeps
    generation: Any  # what the checker grades: [{name: args JSON}] or text
    call_ids: List[Any]
    tokens: int


def is_context_error(exc: Exception) -> bool:
    text = str(exc)
    return "HTTP 400" in text and any(k in text for k in CONTEXT_ERRORS)


def model_name(cfg: BFCLGenerateConfig) -> Optional[str]:
    name = cfg.model_name
    return name if not name or name.endswith("-FC") else name + "-FC"


class BFCLTask(GenerationTask):
    config_class = BFCLGenerateConfig

    @classmethod
    def check(cls, cfg: BFCLGenerateConfig) -> None:
        if cfg.prompt_config:
            raise UsageError("bfcl: prompts are the data's question turns; drop ++prompt_config")
        if cfg.tools:
            raise UsageError("bfcl: every entry sends its own tools; drop ++tools")
        if cfg.inference.endpoint_type != "chat":
            raise UsageError("bfcl: leave inference.endpoint_type alone (client-side parsing sends text completions)")
        if cfg.use_client_parsing:
            if bool(cfg.model_name) == bool(cfg.client_parser):
                raise UsageError(
                    "bfcl client-side parsing (++use_client_parsing=True, the default) needs exactly one of "
                    "++model_name=<BFCL model id> or ++client_parser=skills_json; or parse on the server: "
                    "++use_client_parsing=False with a server started with tool-call parsing")
            if cfg.inference.tokens_to_generate is None:
                raise UsageError("bfcl client-side parsing sends text completions: give ++inference.tokens_to_generate")
            if cfg.client_parser:
                from skills.benchmarks.bfcl_v3.parsers import get_parser

                get_parser(cfg.client_parser)
        elif cfg.client_parser:
            raise UsageError("++client_parser only applies to client-side parsing (++use_client_parsing=True)")
        if cfg.execute_timeout <= 0:
            raise UsageError("execute_timeout must be > 0")
        if cfg.bfcl_build not in (PINNED, PYPI):
            raise UsageError(f"bfcl_build must be {PINNED} or {PYPI}, not '{cfg.bfcl_build}'")
        check_config(dataclasses.replace(cfg, prompt_format="openai"))

    def __init__(self, cfg: BFCLGenerateConfig):
        super().__init__(cfg)
        self.worker = None
        self.constants: Optional[Dict[str, Any]] = None
        self.keys = itertools.count()
        self.template: Optional[str] = None
        self.parser = None
        self.build_label = cfg.bfcl_build  # the worker's identity once it runs

    # -------------------------------------------------------------------------------- set-up
    def prepare(self, entries: List[Tuple[int, Dict[str, Any]]], src: Path) -> List[Any]:
        needs_worker = bool(self.cfg.use_client_parsing and self.cfg.model_name)
        for lineno, row in entries:
            where = f"{src}:{lineno}"
            missing = [k for k in ("id", "question", "single_turn") if k not in row]
            if row.get("single_turn") is False:
                missing += [k for k in ("function", "initial_config", "involved_classes") if k not in row]
                needs_worker = True
            else:
                missing += [k for k in ("tools",) if k not in row]
            if missing:
                raise UsageError(f"{where}: not a prepared BFCL entry (no {', '.join(missing)}); "
                                 "run ns prepare_data bfcl_v3")
            if not isinstance(row["question"], list) or not row["question"]:
                raise UsageError(f"{where}: 'question' must be a non-empty list of turns")
        if self.cfg.use_client_parsing:
            from skills.benchmarks.bfcl_v3 import chat_template

            folder = self.cfg.tokenizer or self.cfg.server.tokenizer or self.cfg.server.model
            if not folder or not Path(folder).is_dir():
                raise UsageError("bfcl client-side parsing renders the chat template locally: give ++tokenizer=<local "
                                 f"tokenizer folder> (the served model '{folder}' is not a local folder)")
            chat_template.load(str(folder))
            self.template = str(folder)
            if self.cfg.client_parser:
                from skills.benchmarks.bfcl_v3.parsers import get_parser

                self.parser = get_parser(self.cfg.client_parser)
        if needs_worker and not self.cfg.dry_run:
            from skills.benchmarks.bfcl_v3.runtime import Worker, WorkerError

            self.worker = Worker(timeout_s=self.cfg.execute_timeout + 300, build=self.cfg.bfcl_build)
            try:
                self.build_label = self.worker.identity()["checker"]
            except WorkerError as exc:
                raise UsageError(f"bfcl: {exc}") from None
            if self.cfg.use_client_parsing and self.cfg.model_name:
                known = self._call_sync("model", model_name=model_name(self.cfg))
                if not known["known"]:
                    raise UsageError(f"model_name {model_name(self.cfg)} has no BFCL local-inference handler "
                                     f"(its parser reads the completions); known: {', '.join(known['models'])}")
        return [row for _, row in entries]

    def describe(self, request: Any) -> str:
        mode = "client-side parsing" if self.cfg.use_client_parsing else "server-side parsing (tools in the request)"
        return (f"{request['id']} ({mode}, {len(request.get('tools') or [])} tools), first turn:\n"
                + json.dumps(request["question"][0], indent=2, ensure_ascii=False))

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()

    def _call_sync(self, op: str, **request: Any) -> Dict[str, Any]:
        from skills.benchmarks.bfcl_v3.runtime import WorkerError

        try:
            return self.worker.call(op, **request)
        except WorkerError as exc:
            raise GenerationError(f"bfcl executor: {exc}") from None

    async def call(self, op: str, **request: Any) -> Dict[str, Any]:
        return await asyncio.to_thread(self._call_sync, op, **request)

    # -------------------------------------------------------------------------------- one model step
    async def parse(self, comp) -> Dict[str, Any]:
        if self.parser is not None:
            message = self.parser(comp.text)
        else:
            answer = await self.call("parse", model_name=model_name(self.cfg), text=comp.text,
                                     completion_tokens=comp.num_generated_tokens)
            message = answer["message"]
        message = {"role": "assistant", **message}
        calls = message.get("tool_calls")
        if calls is not None:  # calls the parser could not make into dicts are dropped, as the reference does
            kept = [c for c in calls if isinstance(c, dict)]
            if kept:
                message["tool_calls"] = kept
            else:
                del message["tool_calls"]
        return message

    async def step(self, client, messages: List[dict], tools: List[dict]) -> Optional[Step]:
        """One assistant step; None when the conversation no longer fits the context window."""
        if self.cfg.system_message:
            messages = [{"role": "system", "content": self.cfg.system_message}] + messages
        try:
            if self.cfg.use_client_parsing:
                from skills.benchmarks.bfcl_v3.chat_template import render

                prompt = render(self.template, messages, tools, True, **dict(self.cfg.chat_template_kwargs))
                comp = await client.complete(self.cfg, prompt=prompt)
                message = await self.parse(comp)
                try:
                    generation: Any = [{c["name"]: json.dumps(c["arguments"])} for c in message["tool_calls"]]
                    ids: List[Any] = list(range(len(generation)))
                except (KeyError, TypeError):
                    generation, ids = (message.get("content") if isinstance(message.get("content"), str) else ""), []
            else:
                comp = await client.complete(self.cfg, messages=messages, tools=tools)
                calls = comp.extra.get("tool_calls") or []
                generation = [{c["function"]["name"]: c["function"]["arguments"]} for c in calls]
                ids = [c.get("id") for c in calls]
                message = {"role": "assistant", "content": comp.text or None}
                if calls:
                    message["tool_calls"] = calls
        except GenerationError as exc:
            if is_context_error(exc):
                print(f"bfcl: out of context ({str(exc)[:200]})", file=sys.stderr)
                return None
            raise
        if self.cfg.parse_reasoning and isinstance(message.get("content"), str):
            text, end = message["content"], self.cfg.end_reasoning_string
            if end in text:
                message["content"] = text.split(end)[-1].lstrip("\n")
            elif not (self.cfg.trust_server_reasoning and comp.extra.get("reasoning_content")):
                message["content"] = ""  # as the reference (see docs/generation.md, parse_reasoning)
        return Step(message, generation, ids, comp.num_generated_tokens or 0)

    # -------------------------------------------------------------------------------- one entry
    async def process(self, row: Dict[str, Any], request: Any, client) -> Dict[str, Any]:
        start = time.time()
        out = await (self.single_turn(row, client) if row["single_turn"] else self.multi_turn(row, client))
        end = time.time()
        if self.cfg.add_generation_stats:
            out.update(generation_start_time=start, generation_end_time=end, generation_time=end - start)
        else:
            out.pop("num_generated_tokens", None)
        out["bfcl_build"] = self.build_label
        for key, value in row.items():
            out.setdefault(key, value)
        return out

    async def single_turn(self, row: Dict[str, Any], client) -> Dict[str, Any]:
        step = await self.step(client, list(row["question"][0]), row["tools"])
        if step is None:
            return {self.cfg.generation_key: "", "num_generated_tokens": 0, "error": OUT_OF_CONTEXT}
        return {self.cfg.generation_key: step.generation, "num_generated_tokens": step.tokens}

    async def multi_turn(self, row: Dict[str, Any], client) -> Dict[str, Any]:
        if self.constants is None:
            self.constants = await self.call("constants")
        entry = {"id": row["id"], "initial_config": row["initial_config"], "involved_classes": row["involved_classes"]}
        category = row["id"].rsplit("_", 1)[0]
        functions, tools = copy.deepcopy(row["function"]), row["tools"]
        missed = row.get("missed_function") or {}
        key = next(self.keys)
        incarnation = None  # the worker process holding this entry's simulated state
        history: List[dict] = []
        turns: List[list] = []
        tokens: List[int] = []
        error = None
        try:
            for index, messages in enumerate(row["question"]):
                if str(index) in missed:  # holdout turn: the held-out functions become available
                    converted = await self.call("tools", functions=functions + missed[str(index)], category=category)
                    functions, tools = converted["functions"], converted["tools"]
                    messages = [{"role": "user", "content": self.constants["holdout_prompt"]}]
                history.extend(messages)
                steps: List[Any] = []
                count, force_quit = 0, False
                while True:
                    step = await self.step(client, history, tools)
                    if step is None:
                        error = OUT_OF_CONTEXT
                        break
                    tokens.append(step.tokens)
                    history.append(step.message)
                    steps.append(step.generation)
                    done = await self.call("execute", key=key, generation=step.generation,
                                           timeout=self.cfg.execute_timeout, **entry)
                    if incarnation not in (None, done["_incarnation"]):
                        raise GenerationError(f"{row['id']}: the bfcl executor restarted (another entry's calls "
                                              "ended it); this entry's simulated state is lost")
                    incarnation = done["_incarnation"]
                    if not done["calls"]:
                        break
                    history.extend({"role": "tool", "content": result, "tool_call_id": call_id}
                                   for result, call_id in zip(done["results"], step.call_ids))
                    count += 1
                    if count > self.constants["max_steps"]:
                        force_quit = True
                        break
                turns.append(steps)
                if force_quit or error:
                    break
        finally:
            if self.worker is not None and self.worker.proc is not None:
                await self.call("drop", key=key, id=row["id"])
        out: Dict[str, Any] = {self.cfg.generation_key: turns, "num_generated_tokens_list": tokens,
                               "num_generated_tokens": sum(tokens)}
        if error:
            out["error"] = error
        out["bfcl_sandbox"] = self.worker.isolation
        return out


TASK = BFCLTask

if __name__ == "__main__":
    sys.exit(main(task_cls=TASK, doc=__doc__))

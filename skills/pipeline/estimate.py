"""What a plan will cost before it runs (``--dry_run``): requests, prompt and generated tokens, and
for API endpoints dollars from a price table.

Read from the plan itself (every generation and judge program's ``++`` tokens), so ``ns eval``,
``ns generate`` and ``ns robust_eval`` are estimated alike:

- **requests**: one per row of each run still to do (its chunk, its ``++max_samples``); a judge run
  has the rows of the generation it judges. Programs that send several requests per row (tool
  calls, parallel thinking, a pairwise judge's two orders) are said to send *at least* that many.
- **prompt tokens**: every request built as the job will build it (the default program's prompts),
  counted with the model's tokenizer when it is here (a local model folder with ``tokenizer.json``,
  or a Hugging Face model id whose ``tokenizer.json`` is in the local cache; for API model names,
  tiktoken's encoding when it is available offline), else approximated as
  characters / 4 (rounded up per request); the output says which. Only the messages' text is
  counted, not a chat template's own tokens. A judge whose generations do not exist yet gets its
  prompt built with an empty generation, plus the generation's tokens (expected and at most).
- **generated tokens**: ``++inference.tokens_to_generate`` per request is an upper *bound*; the
  mean ``num_generated_tokens`` of earlier results of the same benchmark (its output folder, or
  ``--estimate_from DIR``) is the *expected* value. Judged files do not record the judge's token
  counts, so a judge has a bound only.
- **dollars**: for programs talking to an API (no server of the plan's own), ``input`` and
  ``output`` US dollars per million tokens of the model from ``configs/prices.yaml`` (example
  values, dated, not authoritative), extended or replaced by ``--price_table FILE`` or
  ``$SKILLS_PRICE_TABLE``. A model without a price is said, never counted as free.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from skills.config.errors import UsageError

PRICE_ENV = "SKILLS_PRICE_TABLE"
CHARS_PER_TOKEN = 4
APPROX = "approximated as characters/4"
API_SERVER_TYPES = ("openai", "azureopenai", "gemini", "generic")


# ----------------------------------------------------------------------------- prices
@dataclass
class PriceTable:
    models: Dict[str, Tuple[float, float]]  # lower-cased model -> (input, output) USD per million tokens
    sources: List[str]  # where the numbers came from, said next to every dollar figure

    def price(self, model: Optional[str]) -> Optional[Tuple[float, float]]:
        return self.models.get((model or "").lower()) if model else None


def _read_prices(path: Path, what: str) -> Tuple[Dict[str, Tuple[float, float]], str, bool]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{what} {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise UsageError(f"{what} {path}: expected a 'models:' mapping of model -> {{input: USD, output: USD}} "
                         "per million tokens")
    out = {}
    for name, entry in models.items():
        try:
            out[str(name).lower()] = (float(entry["input"]), float(entry["output"]))
        except (TypeError, KeyError, ValueError):
            raise UsageError(f"{what} {path}: model {name!r} needs numeric 'input' and 'output' (USD per million "
                             "tokens)") from None
        if min(out[str(name).lower()]) < 0:
            raise UsageError(f"{what} {path}: model {name!r} has a negative price")
    note = ", ".join(str(data[k]) for k in ("as_of", "source") if data.get(k))
    return out, f"{path}" + (f" ({note})" if note else ""), bool(data.get("replace"))


def load_prices(user_file: Optional[str] = None) -> PriceTable:
    """The example table of ``configs/prices.yaml``, then the user's (``user_file`` or
    ``$SKILLS_PRICE_TABLE``), whose entries win (``replace: true`` drops the examples)."""
    from skills.resources import configs_dir

    models, sources = {}, []
    user = user_file or os.environ.get(PRICE_ENV) or None
    user_models, user_source, replace = ({}, "", False)
    if user:
        flag = "--price_table" if user_file else f"${PRICE_ENV}"
        if not Path(user).is_file():
            raise UsageError(f"{flag} {user}: no such file")
        user_models, user_source, replace = _read_prices(Path(user), flag)
    default = configs_dir() / "prices.yaml"
    if not replace and default.is_file():
        models, source, _ = _read_prices(default, "price table")
        sources.append("example prices from " + source.replace(str(default), "configs/prices.yaml")
                       + ": examples, not authoritative; check your provider's prices")
    if user:
        models.update(user_models)
        sources.append("your prices from " + user_source)
    return PriceTable(models, sources)


# ----------------------------------------------------------------------------- token counting
def _tiktoken_cached(encoding: str) -> bool:
    """tiktoken would load ``encoding`` without the network (its cache file is there)."""
    base = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or \
        os.path.join(tempfile.gettempdir(), "data-gym-cache")
    url = f"https://openaipublic.blob.core.windows.net/encodings/{encoding}.tiktoken"
    return os.path.isfile(os.path.join(base, hashlib.sha1(url.encode()).hexdigest()))


def _local_tokenizer_file(model: str) -> Optional[str]:
    """``tokenizer.json`` of a model folder, or of a Hugging Face model id already in the local
    cache (looked up offline: nothing is downloaded)."""
    if os.path.isfile(os.path.join(model, "tokenizer.json")):
        return os.path.join(model, "tokenizer.json")
    if os.path.isdir(model) or model.count("/") != 1 or model.startswith(("/", ".")):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model, "tokenizer.json")
    except Exception:  # not installed, or not a valid repository id
        return None
    return found if isinstance(found, str) and os.path.isfile(found) else None


def token_counter(model: Optional[str]) -> Tuple[Callable[[str], int], str]:
    """(count(text), what counts): the model's tokenizer when it is here, else characters / 4."""
    path = _local_tokenizer_file(model) if model else None
    if path:
        try:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(path)
            return (lambda text: len(tok.encode(text, add_special_tokens=False).ids)), \
                f"the model's tokenizer ({path})"
        except Exception:  # no tokenizers package, or a file it cannot read: approximate
            pass
    if model and not os.path.isdir(model):
        try:
            import tiktoken

            name = tiktoken.encoding_name_for_model(model)
        except Exception:  # not installed, or not an OpenAI model name
            name = None
        if name:
            from skills.data.tokens import OFFLINE

            for candidate in ([OFFLINE[name]] if name in OFFLINE else []) + [name]:
                if candidate == name and not _tiktoken_cached(name):
                    continue  # would download: a dry run stays offline
                try:
                    enc = tiktoken.get_encoding(candidate)
                except Exception:
                    continue
                return (lambda text: len(enc.encode(text, disallowed_special=()))), f"tiktoken {name}"
    return (lambda text: math.ceil(len(text) / CHARS_PER_TOKEN)), APPROX


def request_text(request: Any) -> str:
    """The text of one request: a prompt, or its messages' contents."""
    if isinstance(request, str):
        return request
    if isinstance(request, list):
        parts = []
        for msg in request:
            content = msg.get("content") if isinstance(msg, dict) else msg
            parts.append(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))
        return "\n".join(parts)
    return json.dumps(request, ensure_ascii=False, default=str)


# ----------------------------------------------------------------------------- earlier results
def measured_tokens(folders: Iterable[str]) -> Optional[Tuple[float, int, str]]:
    """(mean ``num_generated_tokens``, rows, folder) of the first folder with earlier outputs."""
    for folder in folders:
        if not folder or not os.path.isdir(folder):
            continue
        values: List[int] = []
        for name in sorted(os.listdir(folder)):
            if not (name.startswith("output") and name.endswith(".jsonl")):
                continue
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            value = json.loads(line).get("num_generated_tokens")
                        except (ValueError, AttributeError):
                            continue
                        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                            values.append(int(value))
            except OSError:
                continue
        if values:
            return sum(values) / len(values), len(values), folder
    return None


# ----------------------------------------------------------------------------- the estimate
@dataclass
class Stage:
    """One benchmark's generation (or its judge) over every run of the plan, added up."""

    label: str  # "math-500", "math-500 judge", "ns generate"
    role: str  # generation | judge
    model: Optional[str]
    endpoint: str  # "API (openai at https://...)" or "self-hosted (vllm, 8 GPUs)"
    api: bool
    runs: int = 0
    requests: int = 0
    at_least: bool = False  # the program may send more than one request per row
    prompt_tokens: Optional[int] = 0  # None: not estimated (a module's own requests)
    counted_with: str = APPROX
    tokens_per_request: Optional[int] = None  # ++inference.tokens_to_generate: the bound
    generated_bound: Optional[int] = None
    generated_expected: Optional[int] = None
    expected_from: Optional[str] = None  # "mean 312.5 of 400 earlier rows in <folder>"
    price: Optional[Tuple[float, float]] = None
    cost_prompt: Optional[float] = None  # the prompt tokens alone
    cost_expected: Optional[float] = None
    cost_bound: Optional[float] = None
    notes: List[str] = field(default_factory=list)


@dataclass
class Estimate:
    stages: List[Stage] = field(default_factory=list)
    price_sources: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def totals(self) -> Dict[str, Any]:
        st = self.stages

        def add(values: List[Optional[float]]) -> Optional[float]:
            return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]

        api = [s for s in st if s.api]
        return {
            "requests": sum(s.requests for s in st),
            "prompt_tokens": add([s.prompt_tokens for s in st]),
            "generated_tokens_bound": add([s.generated_bound for s in st]),
            "generated_tokens_expected": add([s.generated_expected if s.generated_expected is not None
                                              else s.generated_bound for s in st]),
            # the bound stands in where there are no earlier results
            "cost_usd_expected": add([s.cost_expected if s.cost_expected is not None else s.cost_bound
                                      for s in api]) if api else None,
            "cost_usd_bound": add([s.cost_bound for s in api]) if api else None,
            "unpriced_models": sorted({s.model or "?" for s in api if s.price is None}),
        }

    def to_dict(self) -> Dict[str, Any]:
        return {"stages": [asdict(s) for s in self.stages], "totals": self.totals(),
                "price_sources": self.price_sources, "notes": self.notes}


def _module_of(argv: List[str]) -> Optional[Tuple[str, List[str]]]:
    if len(argv) >= 3 and argv[0].startswith("python") and argv[1] == "-m":
        return argv[2], argv[3:]
    if len(argv) >= 2 and argv[0].startswith("python") and argv[1].endswith(".py"):
        return argv[1], argv[2:]
    return None


def _stage_label(cfg: Any, role: str) -> str:
    out = Path(cfg.output_file) if cfg.output_file else None
    name = out.parent.name if out is not None and out.parent.name else "generation"
    return name + (" judge" if role == "judge" else "")


class _Estimator:
    def __init__(self, plan: Any, prices: PriceTable, estimate_from: Optional[str]):
        self.plan, self.prices, self.estimate_from = plan, prices, estimate_from
        self.stages: Dict[Tuple[str, str, Optional[str]], Stage] = {}
        self.counters: Dict[Optional[str], Tuple[Callable[[str], int], str]] = {}
        self.by_output: Dict[str, Tuple[Any, Any]] = {}  # generation output file -> (program, cfg)
        self.notes: List[str] = []
        self.measured: Dict[Tuple[str, str], Tuple[int, bool, Optional[int]]] = {}  # (requests, built, tokens)
        self.parsed: Dict[str, Dict[str, Any]] = {}  # module -> token -> its Override

    def parse(self, program: Any, toks: List[str]) -> List[Any]:
        """The plan's tokens parsed for ``program``, each distinct token once (not once per run)."""
        cache = self.parsed.setdefault(program.module, {})
        missing = [t for t in dict.fromkeys(toks) if t not in cache]
        cache.update(zip(missing, program.parse(missing)))
        return [cache[t] for t in toks]

    def prompt_tokens(self, cfg: Any, reqs: List[Any]) -> int:
        count, _ = self.counter(cfg.server.model)
        return sum(count(request_text(r)) for r in reqs)

    def counter(self, model: Optional[str]) -> Tuple[Callable[[str], int], str]:
        if model not in self.counters:
            self.counters[model] = token_counter(model)
        return self.counters[model]

    def programs(self) -> List[Tuple[Any, str, Any, Any]]:
        """(job, role, Program, config) of every generation program of the plan, generations first."""
        from skills.pipeline.programs import Program
        from skills.prompt_sets import DIR_ENV

        found = []
        cache: Dict[str, Any] = {}
        for job in self.plan.jobs:
            if job.kind not in ("generation", "judge"):
                continue
            for argv in job.programs:
                head = _module_of(argv)
                if head is None:
                    continue
                module, toks = head
                if module not in cache:
                    try:
                        cache[module] = Program(module)
                    except Exception:  # not a generation program (a merge, a post-processing script)
                        cache[module] = None
                program = cache[module]
                if program is None:
                    continue
                try:
                    cfg = program.config(self.parse(program, toks), module, job.env.get(DIR_ENV))
                except Exception as exc:  # e.g. a prompt set only the cluster has
                    msg = exc.message if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
                    self.notes.append(f"{job.name}: not estimated ({str(msg).splitlines()[0] if msg else ''})")
                    continue
                out = next((t.split("=", 1)[1] for t in reversed(toks) if t.lstrip("+").startswith("output_file=")),
                           None)  # config() puts a placeholder there
                found.append((job, job.kind, program, _replace(cfg, output_file=out)))
        return found

    def stage(self, job: Any, role: str, cfg: Any) -> Stage:
        model = cfg.server.model
        key = (_stage_label(cfg, role), role, model)
        if key not in self.stages:
            api = job.server is None and cfg.server.server_type in API_SERVER_TYPES
            if api:
                endpoint = f"API ({cfg.server.server_type} at {cfg.server.base_url or 'its default address'})"
            elif job.server is not None:
                endpoint = f"self-hosted ({job.server.server_type}, {job.gpus} GPU(s) x {job.nodes} node(s))"
            else:
                endpoint = f"{cfg.server.server_type} server"
            self.stages[key] = Stage(key[0], role, model, endpoint, api, price=self.prices.price(model) if api else None)
        return self.stages[key]

    def earlier(self, cfg: Any) -> Optional[Tuple[float, int, str]]:
        folder = os.path.dirname(cfg.output_file) if cfg.output_file else None
        if not folder:
            return None
        folders = [folder]
        if self.estimate_from:
            out = self.plan.output_dir or ""
            rel = os.path.relpath(folder, out) if out and not os.path.relpath(folder, out).startswith("..") else \
                os.path.basename(folder)
            parts = rel.split(os.sep)
            folders.append(os.path.join(self.estimate_from, rel))
            swap = {"tmp-eval-results": "eval-results", "eval-results": "tmp-eval-results"}
            if parts and parts[0] in swap:
                folders.append(os.path.join(self.estimate_from, swap[parts[0]], *parts[1:]))
            folders.append(self.estimate_from)
        return measured_tokens(folders)

    def requests(self, program: Any, cfg: Any) -> Tuple[List[Any], bool]:
        """(this run's requests, or its rows when the module builds its own; built here or not)."""
        from skills.inference.program import prepare_rows
        from skills.inference.rows import RowSource
        from skills.inference.settings import input_path, iter_input
        from skills.inference.merge_chunks import chunk_bounds

        if not program.prepared_here:
            rows = [row for _, row in iter_input(input_path(cfg), cfg.prompt_format)]
            span = chunk_bounds(len(rows), cfg.num_chunks, cfg.chunk_id) if cfg.num_chunks is not None \
                else range(len(rows))
            if cfg.max_samples > 0:
                span = span[: cfg.max_samples]
            return [rows[i] for i in span], False
        task, source = prepare_rows(cfg, program.task)
        try:
            assert isinstance(source, RowSource)
            return [req for *_, req in source.rows()], True
        finally:
            task.close()

    def add_generation(self, job: Any, program: Any, cfg: Any) -> None:
        st = self.stage(job, "generation", cfg)
        if cfg.output_file:
            self.by_output[os.path.abspath(cfg.output_file)] = (program, cfg)
        # the seeds of one benchmark send the same prompts: built and counted once
        key = (program.module, repr(_replace(cfg, output_file=None, inference=_replace(cfg.inference, random_seed=0))))
        if key not in self.measured:
            reqs, built = self.requests(program, cfg)
            self.measured[key] = (len(reqs), built, self.prompt_tokens(cfg, reqs) if built else None)
        self._count(st, cfg, self.measured[key], self.earlier(cfg))

    def add_judge(self, job: Any, program: Any, cfg: Any) -> None:
        st = self.stage(job, "judge", cfg)
        src = os.path.abspath(cfg.input_file) if cfg.input_file else ""
        producer = self.by_output.get(src)  # made (again) by this plan: what is there now is replaced
        if producer is None and src and os.path.exists(src + ".done"):  # finished: their prompts exactly
            reqs, built = self.requests(program, cfg)
            self._count(st, cfg, (len(reqs), built, self.prompt_tokens(cfg, reqs) if built else None), None)
            return
        if producer is None:
            st.notes.append(f"{os.path.basename(src) or 'its input'}: neither made by this plan nor finished; "
                            "not estimated")
            return
        gen_program, gen_cfg = producer
        key = ("judge " + program.module, repr((_replace(cfg, input_file=None, output_file=None),
                                                 gen_cfg.input_file, gen_cfg.max_samples, gen_cfg.generation_key)))
        if key not in self.measured:
            self.measured[key] = self._judge_prompts(program, cfg, gen_program, gen_cfg, st)
        n, built, tokens = self.measured[key]
        if tokens is None and built:  # its prompts could not be built before the generations exist
            st.runs += 1
            st.requests += n
            st.prompt_tokens = None
            self._bound(st, cfg, n)
            return
        gen = self.stages[(_stage_label(gen_cfg, "generation"), "generation", gen_cfg.server.model)]
        # the judge reads each generation: its tokens join the judge's prompt
        per_row_bound = gen_cfg.inference.tokens_to_generate
        earlier = self.earlier(gen_cfg)
        per_row_expected = earlier[0] if earlier else per_row_bound
        self._count(st, cfg, (n, built, tokens), None)
        if per_row_expected is None:
            st.notes.append(f"the judged generations have no length bound ({gen.label}: ++inference."
                            "tokens_to_generate not set): the judge's prompt tokens leave them out")
        elif st.prompt_tokens is not None:
            st.prompt_tokens += round(per_row_expected * n)
            st.notes.append("judge prompt = its prompt over an empty generation + the generation's tokens "
                            f"({'measured mean' if earlier else 'at most'} {per_row_expected:g} per row)")

    def _judge_prompts(self, program: Any, cfg: Any, gen_program: Any, gen_cfg: Any,
                       st: Stage) -> Tuple[int, bool, Optional[int]]:
        """(requests, built, prompt tokens) of a judge over generations not made yet: its prompts
        built over the generation's input rows with an empty generation (tokens None: not buildable)."""
        rows = self._generation_rows(gen_program, gen_cfg)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "generations.jsonl")
            with open(path, "w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps({gen_cfg.generation_key: "", **row}, ensure_ascii=False) + "\n")
            try:
                reqs, built = self.requests(program, _with_input(cfg, path))
            except UsageError as exc:
                st.notes.append(f"judge prompts not built before the generations exist ({exc.message}); "
                                "prompt tokens not estimated")
                return len(rows), True, None
        return len(reqs), built, self.prompt_tokens(cfg, reqs) if built else None

    def _generation_rows(self, program: Any, cfg: Any) -> List[Dict[str, Any]]:
        """The rows a generation's merged output will hold (all chunks, ``++max_samples``)."""
        from skills.inference.settings import input_path, iter_input

        rows = [row for _, row in iter_input(input_path(cfg), cfg.prompt_format)]
        return rows[: cfg.max_samples] if cfg.max_samples > 0 else rows

    def _count(self, st: Stage, cfg: Any, measured: Tuple[int, bool, Optional[int]],
               earlier: Optional[Tuple[float, int, str]]) -> None:
        n, built, tokens = measured
        st.runs += 1
        st.requests += n
        if not built or cfg.parallel_thinking.mode is not None or cfg.tool_modules:
            st.at_least = True  # more than one request per row is possible
        if not built:
            st.notes.append("its generation module builds its requests in its job: one request per row counted, "
                            "prompt tokens not estimated")
            st.prompt_tokens = None
        elif st.prompt_tokens is not None and tokens is not None:
            st.counted_with = self.counter(cfg.server.model)[1]
            st.prompt_tokens += tokens
        self._bound(st, cfg, n)
        if earlier is not None:
            mean, rows, folder = earlier
            st.expected_from = f"mean {mean:.1f} tokens of {rows} earlier rows in {folder}"
            st.generated_expected = (st.generated_expected or 0) + round(mean * n)

    def _bound(self, st: Stage, cfg: Any, n: int) -> None:
        limit = cfg.inference.tokens_to_generate
        st.tokens_per_request = limit
        if limit is None:
            st.generated_bound = None
            st.notes.append("++inference.tokens_to_generate is not set: no upper bound on generated tokens")
            st.notes = list(dict.fromkeys(st.notes))
        elif not (st.runs > 1 and st.generated_bound is None):
            st.generated_bound = (st.generated_bound or 0) + limit * n

    def finish(self) -> None:
        for st in self.stages.values():
            st.notes = list(dict.fromkeys(st.notes))
            if not st.api:
                continue
            if st.price is None:
                continue  # unknown, never $0 (said by the text and ``totals``)
            pin, pout = st.price
            if st.prompt_tokens is not None:
                prompt = st.cost_prompt = st.prompt_tokens * pin / 1e6
                if st.generated_bound is not None:
                    st.cost_bound = prompt + st.generated_bound * pout / 1e6
                if st.generated_expected is not None:
                    st.cost_expected = prompt + st.generated_expected * pout / 1e6


def _replace(cfg: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(cfg, **changes)


def _with_input(cfg: Any, path: str) -> Any:
    return _replace(cfg, input_file=path, num_chunks=None, chunk_id=None, max_samples=-1)


def estimate_plan(plan: Any, price_table: Optional[str] = None, estimate_from: Optional[str] = None) -> Estimate:
    """The estimate of ``plan`` (see the module docstring). Bad price tables are UsageErrors; a run
    that cannot be read here (a remote cluster's files) is said in the notes, not guessed."""
    prices = load_prices(price_table)
    if estimate_from and not os.path.isdir(estimate_from):
        raise UsageError(f"--estimate_from {estimate_from}: no such folder")
    est = _Estimator(plan, prices, estimate_from)
    found = est.programs()
    for job, role, program, cfg in sorted(found, key=lambda item: item[1] == "judge"):
        try:
            if role == "judge":
                est.add_judge(job, program, cfg)
            else:
                est.add_generation(job, program, cfg)
        except UsageError as exc:  # e.g. a data file on a remote cluster
            est.notes.append(f"{_stage_label(cfg, role)}: not estimated ({exc.message})")
        except Exception as exc:  # an estimate never stops a dry run: said, not guessed
            est.notes.append(f"{_stage_label(cfg, role)}: not estimated ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})")
    est.finish()
    return Estimate(list(est.stages.values()), prices.sources, est.notes)


# ----------------------------------------------------------------------------- text
def _n(value: Optional[float]) -> str:
    return "?" if value is None else f"{int(round(value)):,}"


def _usd(value: Optional[float]) -> str:
    return "?" if value is None else f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def render_estimate(est: Estimate) -> str:
    if not est.stages and not est.notes:
        return ""
    lines = ["", "Estimate before launch (bounds say 'at most'; 'expected' uses earlier results when there are any):"]
    for st in est.stages:
        req = f"{'at least ' if st.at_least else ''}{st.requests:,} requests ({st.runs} run(s))"
        prompt = "prompt tokens not estimated" if st.prompt_tokens is None else \
            f"{_n(st.prompt_tokens)} prompt tokens ({st.counted_with})"
        gen = ("generated: no bound" if st.generated_bound is None else
               f"generated at most {_n(st.generated_bound)} tokens ({st.tokens_per_request} per request, "
               "++inference.tokens_to_generate)")
        if st.generated_expected is not None:
            gen += f", expected {_n(st.generated_expected)} ({st.expected_from})"
        lines.append(f"  {st.label} [{st.role}, model {st.model}, {st.endpoint}]: {req}; {prompt}; {gen}")
        if st.api:
            if st.price is None:
                lines.append(f"    cost: unknown (no price for {st.model!r} in the price table; add it with "
                             "--price_table)")
            elif st.cost_bound is None:
                lines.append(f"    cost: no upper bound (generated tokens have none); the prompt tokens alone "
                             f"{_usd(st.cost_prompt)}" + (f", expected {_usd(st.cost_expected)}"
                                                          if st.cost_expected is not None else ""))
            else:
                exp = f"expected {_usd(st.cost_expected)}" if st.generated_expected is not None else \
                    "no earlier results for an expected value"
                lines.append(f"    cost: at most {_usd(st.cost_bound)}, {exp} "
                             f"(${st.price[0]:g} in / ${st.price[1]:g} out per million tokens)")
        else:
            lines.append("    cost: not in dollars (the plan's own server: GPU time)" if "self-hosted" in st.endpoint
                         else "    cost: not priced")
        for note in st.notes:
            lines.append(f"    note: {note}")
    t = est.totals()
    bound = t["generated_tokens_bound"]
    lines.append(f"  total: {t['requests']:,} requests, {_n(t['prompt_tokens'])} prompt tokens, generated "
                 + (f"at most {_n(bound)} tokens, expected {_n(t['generated_tokens_expected'])} (the bound where "
                    "there are no earlier results)" if bound is not None else "tokens: no upper bound"))
    if any(s.api for s in est.stages):
        unpriced = t["unpriced_models"]
        cost = (f"  API cost: at most {_usd(t['cost_usd_bound'])}, expected {_usd(t['cost_usd_expected'])}"
                if not unpriced and t["cost_usd_bound"] is not None else
                "  API cost: no upper bound (a priced stage's generated tokens have none)" if not unpriced else
                f"  API cost: unknown: no price for {', '.join(repr(m) for m in unpriced)} (not counted as $0)")
        lines.append(cost)
        for source in est.price_sources:
            lines.append(f"  prices: {source}")
    for note in est.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- rows per run (the live ETA)
def _settings_of(toks: List[str]) -> Dict[str, str]:
    """``++key=value`` tokens as a dict (the last one wins, as Hydra applies them)."""
    out: Dict[str, str] = {}
    for tok in toks:
        if tok.startswith("+") and "=" in tok:
            key, value = tok.lstrip("+").split("=", 1)
            out[key] = value
    return out


def _count_rows(path: str, cache: Dict[str, Optional[int]]) -> Optional[int]:
    if path not in cache:
        try:
            with open(path, "rb") as fh:
                cache[path] = sum(1 for line in fh if line.strip())
        except OSError:
            cache[path] = None
    return cache[path]


def planned_rows(plan: Any) -> Dict[str, int]:
    """Progress label -> rows of every generation and judge run of ``plan`` that can be told now (the
    live display counts runs that have not started, judges included, by these). Cheap: input lines
    are counted, not parsed; a judge's input not made yet has the rows of the generation making it."""
    from skills.inference.merge_chunks import chunk_bounds, chunk_path
    from skills.inference.progress import run_label

    cache: Dict[str, Optional[int]] = {}
    made: Dict[str, int] = {}  # a generation's merged output -> its rows
    found: Dict[str, int] = {}
    runs = [(job.kind, head[1]) for job in plan.jobs if job.kind in ("generation", "judge")
            for head in map(_module_of, job.programs) if head is not None]
    for kind, toks in sorted(runs, key=lambda item: item[0] == "judge"):
        s = _settings_of(toks)
        out, src = s.get("output_file"), s.get("input_file")
        if not out or not src:
            continue
        total = _count_rows(src, cache) if os.path.exists(src) else made.get(os.path.abspath(src))
        if total is None:
            continue
        try:
            max_samples = int(s.get("max_samples", -1))
            num_chunks = int(s["num_chunks"]) if s.get("num_chunks") not in (None, "null", "None") else None
            chunk = int(s["chunk_id"]) if num_chunks is not None else None
        except (KeyError, ValueError):
            continue
        span = chunk_bounds(total, num_chunks, chunk) if num_chunks is not None else range(total)
        rows = len(span[: max_samples] if max_samples > 0 else span)
        merged = os.path.abspath(out)
        made[merged] = made.get(merged, 0) + rows if chunk is not None else rows  # chunks add up to the merged file
        path = chunk_path(Path(out), chunk) if chunk is not None else Path(out)
        key = s.get("generation_key") or ("judgement" if kind == "judge" else "generation")  # a judge's default
        found[run_label(path, key)] = rows
    return found

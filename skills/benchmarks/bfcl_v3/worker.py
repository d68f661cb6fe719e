"""The gorilla (bfcl_eval) side: a JSON-lines service run in the bfcl environment, confined (see ``runtime``).

``--build pinned|pypi`` picks the gorilla code before anything of it is imported (see the package's
docstring): ``pypi`` puts ``<sys.prefix>/bfcl-builds/bfcl-eval-2025.7.17`` first on the path.

Requests on stdin, one answer per line on stdout, in order (``seq`` echoed). Operations:

- ``tools``: bfcl-eval's language pre-processing of function docs, then its OpenAI tool conversion
  (``functions`` are returned too: the pre-processing edits them in place, and a miss_func holdout
  turn re-processes the edited list, as upstream does);
- ``constants``: the step limit and the holdout-turn user prompt of bfcl-eval;
- ``execute`` / ``drop``: decode one assistant step's calls and run them on the entry's simulated
  API instances (kept per ``key`` + entry id until dropped);
- ``identity``: which gorilla code this worker runs (``gorilla@<commit>`` or ``bfcl-eval==<version>``);
- ``grade``: the verdict of gorilla's own per-category runner on a one-entry list;
- ``model`` / ``parse``: whether a BFCL model id has a local-inference handler, and that handler's
  parser of a raw completion (client-side parsing by ``model_name``).

Only the standard library, bfcl_eval and the package's constants are imported. The protocol uses private copies of stdin and
stdout; code run by ``eval`` sees /dev/null and stderr instead, so it cannot corrupt the protocol.
``python -m skills.benchmarks.bfcl_v3.worker [--build B] prepare RAW_DIR OUT_DIR SPLIT...`` writes prepared
splits; ``... identity`` prints the identity as JSON.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

MODEL = "o3-mini-2025-01-31-FC"  # the reference's checker model: an OpenAI FC handler ({name: "json args"} lists)
# bfcl-eval 2025.7.17 no longer has that model; this one decodes the same way
ALIASES = {"o3-mini-2025-01-31-FC": "o3-2025-04-16-FC"}
GRADE_TIMEOUT_S = 60.0
EXECUTE_TIMEOUT_S = 60.0


class Timeout(Exception):
    pass


class UnknownEntry(ValueError):
    """A row whose id is not a BFCL v3 entry: the file is wrong, not the model."""


def _alarm(*_: Any) -> None:
    raise Timeout()


def with_timeout(seconds: float, fn: Callable[[], Any]) -> Any:
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


# ----------------------------------------------------------------------------- generation side
def op_tools(req: Dict[str, Any]) -> Dict[str, Any]:
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI
    from bfcl_eval.model_handler.model_style import ModelStyle
    from bfcl_eval.model_handler.utils import convert_to_tool, func_doc_language_specific_pre_processing

    style = getattr(ModelStyle, "OpenAI_Completions", None) or ModelStyle.OpenAI  # renamed after the pin
    functions = func_doc_language_specific_pre_processing(req["functions"], req["category"])
    tools = convert_to_tool(copy.deepcopy(functions), GORILLA_TO_OPENAPI, style)
    return {"functions": functions, "tools": tools}


def op_constants(req: Dict[str, Any]) -> Dict[str, Any]:
    from bfcl_eval.constants.default_prompts import DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC, MAXIMUM_STEP_LIMIT

    return {"max_steps": MAXIMUM_STEP_LIMIT, "holdout_prompt": DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC}


def op_execute(req: Dict[str, Any]) -> Dict[str, Any]:
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import (execute_multi_turn_func_call,
                                                                          is_empty_execute_response)
    from bfcl_eval.model_handler.utils import convert_to_function_call

    try:
        calls = convert_to_function_call(req["generation"])
    except Exception:  # text, or arguments that are not JSON: the turn ends, as upstream
        return {"calls": []}
    if is_empty_execute_response(calls):
        return {"calls": []}
    category = req["id"].rsplit("_", 1)[0]

    def run() -> List[str]:
        results, _ = execute_multi_turn_func_call(
            calls, req["initial_config"], req["involved_classes"], model_name=f"gen_{req['key']}",
            test_entry_id=req["id"], long_context="long_context" in category or "composite" in category)
        return results

    try:
        results = with_timeout(req.get("timeout", EXECUTE_TIMEOUT_S), run)
    except Timeout:
        raise RuntimeError(f"{req['id']}: executing the model's calls took longer than "
                           f"{req.get('timeout', EXECUTE_TIMEOUT_S)} s") from None
    return {"calls": calls, "results": results}


def op_drop(req: Dict[str, Any]) -> Dict[str, Any]:
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils

    prefix = f"gen_{req['key']}_{req['id']}_"
    for name in [n for n in vars(multi_turn_utils) if n.startswith(prefix) and n.endswith("_instance")]:
        delattr(multi_turn_utils, name)
    return {}


_HANDLERS: Dict[str, Any] = {}


def op_model(req: Dict[str, Any]) -> Dict[str, Any]:
    """Whether ``model_name`` has a BFCL local-inference handler (whose parser client parsing uses)."""
    from bfcl_eval.constants.model_config import local_inference_model_map

    return {"known": req["model_name"] in local_inference_model_map, "models": sorted(local_inference_model_map)}


def op_parse(req: Dict[str, Any]) -> Dict[str, Any]:
    """The chat-history message a BFCL local-model handler parses out of a raw completion."""
    from types import SimpleNamespace

    name = req["model_name"]
    if name not in _HANDLERS:
        from bfcl_eval.constants.model_config import local_inference_model_map

        _HANDLERS[name] = local_inference_model_map[name].model_handler(name, temperature=0)
    completion = SimpleNamespace(choices=[SimpleNamespace(text=req["text"])], usage=SimpleNamespace(
        prompt_tokens=req.get("prompt_tokens") or 0, completion_tokens=req.get("completion_tokens") or 0))
    parsed = _HANDLERS[name]._parse_query_response_prompting(completion)
    return {"message": parsed["model_responses_message_for_chat_history"]}


# ----------------------------------------------------------------------------- grading side
class Checker:
    """gorilla's per-category runners on one entry at a time (any subset of a split, no state kept).
    Questions and possible answers are the build's own data files, as ``bfcl evaluate`` reads them."""

    def __init__(self, model: str):
        from bfcl_eval.eval_checker import eval_runner

        self.model = model
        self.runner = eval_runner
        self.handler = eval_runner.get_handler(model)
        self.prompts: Dict[str, Dict[str, dict]] = {}
        self.answers: Dict[str, Dict[str, dict]] = {}
        self.score_dir = Path(tempfile.mkdtemp(prefix="bfcl_score_"))

    def _load(self, cache: Dict[str, Dict[str, dict]], folder: Path, category: str) -> Dict[str, dict]:
        if category not in cache:
            from bfcl_eval.utils import load_file

            path = folder / f"BFCL_v3_{category}.json"
            if not path.is_file():
                raise UnknownEntry(f"no BFCL v3 category '{category}'")
            cache[category] = {e["id"]: e for e in load_file(path)}
        return cache[category]

    def grade(self, entry_id: str, result: Any) -> Dict[str, Any]:
        from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH
        from bfcl_eval.utils import (extract_test_category_from_id, is_java, is_js, is_multi_turn,
                                     is_relevance_or_irrelevance)

        category = extract_test_category_from_id(entry_id)
        prompts = self._load(self.prompts, PROMPT_PATH, category)
        if entry_id not in prompts:
            raise UnknownEntry(f"'{entry_id}' is not an entry of BFCL v3 {category}")
        model_result = [{"id": entry_id, "result": result}]
        prompt = [copy.deepcopy(prompts[entry_id])]
        r, args = self.runner, (self.handler, model_result, prompt)
        if is_relevance_or_irrelevance(category):
            accuracy, _ = r.relevance_file_runner(*args, self.model, category, self.score_dir)
        else:
            answer = [self._load(self.answers, POSSIBLE_ANSWER_PATH, category)[entry_id]]
            if is_multi_turn(category):
                accuracy, _ = r.multi_turn_runner(*args, answer, self.model, category, self.score_dir)
            else:  # "java" is in "javascript": the runner's own order of checks
                language = "JavaScript" if is_js(category) else "Java" if is_java(category) else "Python"
                accuracy, _ = r.ast_file_runner(*args, answer, language, category, self.model, self.score_dir)
        if accuracy == 1.0:
            return {"correct": True, "error_type": None}
        lines = (self.score_dir / self.model / f"BFCL_v3_{category}_score.json").read_text().splitlines()
        failure = json.loads(lines[1]) if len(lines) > 1 else {}
        error = failure.get("error")
        kind = failure.get("error_type") or (error.get("error_type") if isinstance(error, dict) else None)
        return {"correct": False, "error_type": kind}


_CHECKERS: Dict[str, Checker] = {}


def op_grade(req: Dict[str, Any]) -> Dict[str, Any]:
    from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils

    model = req.get("model") or MODEL
    if model not in MODEL_CONFIG_MAPPING:
        model = ALIASES.get(model, model)
    if model not in _CHECKERS:
        _CHECKERS[model] = Checker(model)
    try:
        return with_timeout(req.get("timeout", GRADE_TIMEOUT_S), lambda: _CHECKERS[model].grade(req["id"], req["result"]))
    except Timeout:
        return {"correct": False, "error_type": "grader:timeout"}
    except UnknownEntry:
        raise
    except Exception as exc:  # the CLI would abort the whole split; here only this entry fails
        return {"correct": False, "error_type": f"grader:exception:{type(exc).__name__}"}
    finally:  # simulated-API state lives in module globals keyed by model and id: never reuse it
        for name in [n for n in vars(multi_turn_utils) if n.endswith("_instance")]:
            delattr(multi_turn_utils, name)


# ----------------------------------------------------------------------------- data preparation
def prepare_splits(raw: Path, out: Path, splits: List[str]) -> None:
    """``<out>/<split>/test.jsonl`` from the upstream files in ``raw``, as the reference prepares them:
    multi-turn entries get the docs of their classes as ``function`` (miss_func's held-out docs moved
    to ``missed_function[turn]``), then ``function`` gets bfcl-eval's language hints and ``tools`` its
    OpenAI conversion."""
    from bfcl_eval.constants.category_mapping import MULTI_TURN_FUNC_DOC_FILE_MAPPING
    from bfcl_eval.utils import is_multi_turn

    from skills.data.io import write_jsonl

    docs = {cls: [json.loads(x) for x in (raw / "multi_turn_func_doc" / name).read_text().splitlines() if x.strip()]
            for cls, name in MULTI_TURN_FUNC_DOC_FILE_MAPPING.items()}
    for split in splits:
        rows = []
        for line in (raw / f"BFCL_v3_{split}.json").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            category = entry["id"].rsplit("_", 1)[0]
            entry["single_turn"] = not is_multi_turn(category)
            if not entry["single_turn"]:
                functions = [copy.deepcopy(d) for cls in entry["involved_classes"] for d in docs[cls]]
                for turn, names in entry.get("missed_function", {}).items():
                    held = []
                    for name in names:  # the first doc of that name moves to the holdout turn
                        i = next((i for i, d in enumerate(functions) if d["name"] == name), None)
                        if i is not None:
                            held.append(functions.pop(i))
                    entry["missed_function"][turn] = held
                entry["function"] = functions
            if "function" in entry:
                converted = op_tools({"functions": entry["function"], "category": category})
                entry["function"], entry["tools"] = converted["functions"], converted["tools"]
            rows.append(entry)
        write_jsonl(out / split / "test.jsonl", rows)
        print(f"{split}: {len(rows)} entries", file=sys.stderr)


# ----------------------------------------------------------------------------- which gorilla
_IDENTITY: Dict[str, Any] = {}


def select_build(build: str) -> None:
    """Put the requested build first on the path (before bfcl_eval is imported)."""
    from skills.benchmarks.bfcl_v3 import BUILDS_DIR, PINNED, PYPI, PYPI_FOLDER

    if build == PYPI:
        folder = Path(sys.prefix) / BUILDS_DIR / PYPI_FOLDER
        if not (folder / "bfcl_eval").is_dir():
            raise RuntimeError(f"the bfcl environment {sys.prefix} has no {PYPI_FOLDER} build ({folder}): "
                               "rebuild it with scripts/setup.sh")
        sys.path.insert(0, str(folder))
    elif build != PINNED:
        raise RuntimeError(f"unknown BFCL build '{build}' (known: {PINNED}, {PYPI})")
    _IDENTITY["build"] = build


def identity() -> Dict[str, Any]:
    """``checker``: ``gorilla@<commit>`` for a source build (its version carries the commit, as
    setuptools-scm writes it), ``bfcl-eval==<version>`` for a release; an error when the build asked
    for is not what the environment holds (a v1.3-only environment cannot stand in for the pin)."""
    from importlib.metadata import PackageNotFoundError, version

    from skills.benchmarks.bfcl_v3 import PINNED, PYPI, PYPI_VERSION

    build = _IDENTITY.get("build", PINNED)
    try:
        found = version("bfcl-eval")
    except PackageNotFoundError:
        raise RuntimeError(f"bfcl_eval is not installed in {sys.prefix}: run scripts/setup.sh") from None
    commit = found.split("+g", 1)[1].split(".")[0] if "+g" in found else None
    label = f"gorilla@{commit}" if commit else f"bfcl-eval=={found}"
    if build == PYPI and found != PYPI_VERSION:
        raise RuntimeError(f"the {PYPI} build must be bfcl-eval=={PYPI_VERSION}, found {label}")
    if build == PINNED and commit is None:
        raise RuntimeError(f"the bfcl environment {sys.prefix} holds {label}, not gorilla at the reference's pin: "
                           "rebuild it with scripts/setup.sh, or ask for the release with ++bfcl_build=pypi")
    import bfcl_eval

    return {"build": build, "checker": label, "version": found, "path": str(Path(bfcl_eval.__file__).parent)}


def op_identity(req: Dict[str, Any]) -> Dict[str, Any]:
    return identity()


OPS = {"identity": op_identity, "tools": op_tools, "constants": op_constants, "execute": op_execute, "drop": op_drop, "model": op_model,
       "parse": op_parse, "grade": op_grade}


def serve(problem: Optional[str] = None) -> None:
    proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)
    sys.stdin, sys.stdout = open(os.devnull), sys.stderr
    broken = problem
    if broken is None:
        try:
            identity()
        except RuntimeError as exc:  # not the gorilla asked for: every request says why
            broken = str(exc)
    for line in proto_in:
        req = json.loads(line)
        try:
            if broken:
                raise RuntimeError(broken)
            answer = OPS[req["op"]](req)
        except Exception as exc:
            answer = {"error": f"{req.get('op')}: {type(exc).__name__}: {exc}"}
            if not isinstance(exc, (ValueError, RuntimeError)):
                traceback.print_exc()
        proto_out.write(json.dumps({**answer, "seq": req.get("seq")}) + "\n")
        proto_out.flush()


def main(argv: List[str]) -> int:
    # bfcl-eval creates result/ and score/ under its project root at import time
    os.environ["BFCL_PROJECT_ROOT"] = tempfile.mkdtemp(prefix="bfcl_root_")
    # its checker builds the model's OpenAI client (never called); the worker gets no real key
    os.environ.setdefault("OPENAI_API_KEY", "not-a-key")
    from skills.benchmarks.bfcl_v3 import PINNED

    build = PINNED
    if argv[:1] == ["--build"]:
        build, argv = argv[1], argv[2:]
    try:
        select_build(build)
        problem = None
    except RuntimeError as exc:
        problem = str(exc)
    if argv and argv[0] in ("identity", "prepare"):
        try:
            if problem:
                raise RuntimeError(problem)
            if argv[0] == "identity":  # python -m skills.benchmarks.bfcl_v3.worker [--build B] identity
                print(json.dumps(identity()))
            else:
                prepare_splits(Path(argv[1]), Path(argv[2]), argv[3:])
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    serve(problem)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

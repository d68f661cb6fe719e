"""The reference prompt set as fetched data: mirror copy and archive download, resolution before
our own prompts/, few-shot examples read without executing them, and the exact request messages
sent to an OpenAI-compatible server for the published benchmarks.

The expected messages are built here independently of the product: the upstream YAML's ``user``
filled with ``str.format`` over the row, the upstream ``system`` as written.
"""

from __future__ import annotations

import ast
import hashlib
import http.server
import io
import json
import subprocess
import tarfile
import threading
import warnings
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from tests.helpers.paths import FIXTURES
from tests.helpers.prereqs import missing
from skills.config.errors import UsageError
from skills.inference.config import GenerateConfig
from skills.inference.prompts import PromptBuilder, load_prompt_config
from skills.prompt_sets import DEFAULT_COMMIT, MIRROR_NAME, open_set, set_dir
from skills.prompt_sets.fetch import fetch_prompt_set, verify
from skills.prompt_sets.few_shot import examples_map
from tests.helpers.stub_server import StubProcess, generate_cmd
from tests.helpers.files import read_jsonl

LABEL = f"nemo-skills@{DEFAULT_COMMIT}"


@pytest.fixture(scope="module")
def upstream(mirror_dir: Path) -> Path:
    path = mirror_dir / MIRROR_NAME
    if not (path / "config").is_dir():
        missing(f"no prompt mirror at {path}")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory, mirror_dir: Path, upstream: Path) -> Path:
    """Mirror-prepared benchmarks (+ the HLE fixture) and the fetched prompt set, as a user gets them."""
    from skills.cli.app import main

    root = tmp_path_factory.mktemp("data")
    assert main(["prepare_data", "gpqa", "mmlu-pro", "math-500", "aime24", "aime25", f"--data_dir={root}",
                 f"--mirror={mirror_dir}"]) == 0
    assert main(["prepare_data", "hle", "--split=text", f"--data_dir={root}",
                 f"--mirror={FIXTURES}", "--no-prompts"]) == 0
    assert open_set(set_dir(root)) is not None
    return root


def literal_examples(folder: Path) -> Dict[str, list]:
    """Independent reading of the few-shot files: ``"...".strip()`` folded, then ``ast.literal_eval``."""
    class Fold(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Constant):
                return ast.Constant(getattr(node.func.value.value, node.func.attr)())
            return node

    out: Dict[str, list] = {}
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = Fold().visit(ast.parse(path.read_text()))
        values = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                if node.targets[0].id == "examples_map":
                    for k, v in zip(node.value.keys, node.value.values):
                        out[k.value] = values[v.id]
                else:
                    try:
                        values[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
    return out


# --------------------------------------------------------------------------- fetching

def test_fetch_from_mirror_is_byte_identical_versioned_and_verified(tmp_path, mirror_dir, upstream):
    pset = fetch_prompt_set(tmp_path, mirror=mirror_dir)
    assert pset.label == LABEL and pset.root == tmp_path / ".prompt-sets" / "nemo-skills" / DEFAULT_COMMIT
    manifest = json.loads((pset.root / "manifest.json").read_text())
    assert manifest["commit"] == DEFAULT_COMMIT and manifest["fetched_from"].startswith("mirror:")
    for rel in ("config/generic/math.yaml", "config/judge/hle.yaml", "few_shot_examples/math.py",
                "code_tags/qwen.yaml"):
        assert (pset.root / rel).read_bytes() == (upstream / rel).read_bytes()
        assert manifest["files"][rel] == hashlib.sha256((upstream / rel).read_bytes()).hexdigest()
    stamp = (pset.root / "manifest.json").stat().st_mtime_ns
    fetch_prompt_set(tmp_path, mirror=mirror_dir)  # present and intact: nothing fetched again
    assert (pset.root / "manifest.json").stat().st_mtime_ns == stamp
    (pset.root / "config" / "generic" / "math.yaml").write_text("user: tampered {problem}\n")
    assert not verify(pset.root)
    fetch_prompt_set(tmp_path, mirror=mirror_dir)  # a damaged set is fetched again
    assert verify(pset.root)
    assert (pset.root / "config/generic/math.yaml").read_bytes() == (upstream / "config/generic/math.yaml").read_bytes()
    assert not [p for p in pset.root.parent.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_mirror_of_another_commit_is_refused(tmp_path, mirror_dir, upstream):
    with pytest.raises(UsageError, match=f"holds commit {DEFAULT_COMMIT}"):
        fetch_prompt_set(tmp_path, commit="1" * 40, mirror=mirror_dir)
    with pytest.raises(UsageError, match="not a git commit"):
        fetch_prompt_set(tmp_path, commit="main", mirror=mirror_dir)


def _archive(upstream: Path, commit: str) -> bytes:
    buf = io.BytesIO()
    top = f"NeMo-Skills-{commit}"
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(upstream.rglob("*")):
            rel = path.relative_to(upstream)
            if path.is_file() and rel.parts[0] in ("config", "few_shot_examples", "code_tags"):
                tar.add(path, f"{top}/nemo_skills/prompt/{rel}")
        tar.add(upstream / "LICENSE", f"{top}/LICENSE")
        for name, text in ((f"{top}/README.md", b"not part of the set"),
                           (f"{top}/nemo_skills/prompt/../../../escape.txt", b"must not be written")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    return buf.getvalue()


def test_fetch_downloads_the_archive_at_the_commit(tmp_path, upstream, monkeypatch):
    payload = _archive(upstream, DEFAULT_COMMIT)
    seen: List[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            ok = self.path == f"/{DEFAULT_COMMIT}.tar.gz"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(payload) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SKILLS_PROMPTS_URL", f"http://127.0.0.1:{server.server_port}/{{commit}}.tar.gz")
        pset = fetch_prompt_set(tmp_path / "data")
        with pytest.raises(UsageError, match="HTTP 404"):
            fetch_prompt_set(tmp_path / "other", commit="2" * 40)
    finally:
        server.shutdown()
    assert seen[0] == f"/{DEFAULT_COMMIT}.tar.gz"
    manifest = json.loads((pset.root / "manifest.json").read_text())
    assert manifest["fetched_from"].endswith(f"/{DEFAULT_COMMIT}.tar.gz")
    got = sorted(k for k in manifest["files"])
    want = sorted(str(p.relative_to(upstream)) for p in upstream.rglob("*") if p.is_file()
                  and p.relative_to(upstream).parts[0] in ("config", "few_shot_examples", "code_tags"))
    assert got == sorted(want + ["LICENSE"])
    assert (pset.root / "config/eval/aai/mcq-4choices-boxed.yaml").read_bytes() == \
        (upstream / "config/eval/aai/mcq-4choices-boxed.yaml").read_bytes()
    assert not list(tmp_path.rglob("escape.txt")) and not list(tmp_path.rglob("README.md"))
    assert not (tmp_path / "other" / ".prompt-sets" / "nemo-skills" / ("2" * 40)).exists()


# --------------------------------------------------------------------------- few-shot data

def test_few_shot_files_are_read_as_data(upstream):
    parsed = examples_map(upstream / "few_shot_examples")
    assert parsed == literal_examples(upstream / "few_shot_examples")
    assert len(parsed["math_text_detailed"]) == 4 and "mmlu_pro_few_shot_law" in parsed


def test_few_shot_modules_are_never_executed(tmp_path):
    pkg = tmp_path / "few_shot_examples"
    pkg.mkdir()
    flag = tmp_path / "executed"
    (pkg / "__init__.py").write_text("from x.few_shot_examples.evil import examples_map as a\n")
    (pkg / "evil.py").write_text(f"import os\nos.makedirs({str(flag)!r})\nsteps = [{{'problem': 'p', 'solution': "
                                 f"'''  s  '''.strip()}}]\nhidden = os.getcwd()\nexamples_map = {{'evil_set': steps}}\n")
    assert examples_map(pkg) == {"evil_set": [{"problem": "p", "solution": "s"}]}
    assert not flag.exists()
    (pkg / "bad.py").write_text("import os\nexamples_map = {'x': os.environ}\n")
    (pkg / "__init__.py").write_text("from x.few_shot_examples.bad import examples_map\n")
    examples_map.cache_clear()
    with pytest.raises(UsageError, match="bad.py: examples_map is not plain data"):
        examples_map(pkg)


# --------------------------------------------------------------------------- resolution

def test_resolution_order_and_prompt_source(tmp_path, mirror_dir, upstream, monkeypatch):
    monkeypatch.delenv("SKILLS_PROMPT_SOURCE")
    pset = fetch_prompt_set(tmp_path, mirror=mirror_dir)
    ref = load_prompt_config("generic/math", prompt_set_dir=str(pset.root))
    assert ref.path == pset.root / "config/generic/math.yaml" and ref.source == LABEL and ref.notice is None
    assert load_prompt_config("nemo_skills/prompt/config/judge/hle", prompt_set_dir=str(pset.root)).source == LABEL
    own = load_prompt_config("generic/math", prompt_set_dir="none", prompt_source="own")
    assert own.source == "skills-builtin" and own.path.parent.name == "generic"
    assert "own wording" in own.notice and "disabled" in own.notice
    absent = load_prompt_config("generic/math", prompt_set_dir=str(tmp_path / "nowhere"), prompt_source="own")
    assert "no reference prompt set at" in absent.notice and "ns prepare_data" in absent.notice
    # without ++prompt_source=own, a missing reference wording is an error, never a quiet stand-in
    with pytest.raises(UsageError, match=r"prompt generic/math: no reference prompt set at .*nowhere.* add "
                                         r"\+\+prompt_source=own"):
        load_prompt_config("generic/math", prompt_set_dir=str(tmp_path / "nowhere"))
    with pytest.raises(UsageError, match="disabled"):
        load_prompt_config("generic/math", prompt_set_dir="none")
    assert load_prompt_config("generic/math", prompt_set_dir=str(pset.root), prompt_source="own").source == LABEL
    mine = tmp_path / "mine.yaml"
    mine.write_text("user: 'Q: {problem}'\n")
    explicit = load_prompt_config(str(mine), prompt_set_dir=str(pset.root))
    assert explicit.path == mine and explicit.source == f"file:{mine}"
    assert load_prompt_config(str(tmp_path / "mine"), prompt_set_dir=str(pset.root)).path == mine  # as the reference
    generic_judge = load_prompt_config("judge/generic", prompt_set_dir="none")  # ours only: nothing to say
    assert generic_judge.notice is None
    with pytest.raises(UsageError, match="did you mean generic/math"):
        load_prompt_config("generic/maht", prompt_set_dir=str(pset.root))
    with pytest.raises(UsageError, match="needs the reference prompt set"):
        load_prompt_config("generic/math", examples_type="math_text_detailed", prompt_set_dir="none",
                           prompt_source="own")
    with pytest.raises(UsageError, match="did you mean math_text_detailed"):
        load_prompt_config("generic/math", examples_type="math_text_detaild", prompt_set_dir=str(pset.root))


def test_few_shot_formatting_and_code_tags(tmp_path, mirror_dir, upstream):
    pset = fetch_prompt_set(tmp_path, mirror=mirror_dir)
    fs = yaml.safe_load((upstream / "config/generic/math.yaml").read_text())["few_shot_examples"]
    code = literal_examples(upstream / "few_shot_examples")["math_text_with_code"]
    tags = yaml.safe_load((upstream / "code_tags/llama3.yaml").read_text())
    cfg = GenerateConfig(prompt_config="generic/math", prompt_set_dir=str(pset.root),
                         examples_type="math_text_with_code", code_tags="llama3")
    text = PromptBuilder(cfg).messages({"problem": "P?"}, "x")[0]["content"]
    first = code[0]["solution"]
    assert "{code_begin}" in first and "{code_begin}" not in text
    assert tags["code_begin"] in text and tags["code_output_begin"] + "\n\ncompleted\n[stdout]\n" in text
    assert text.startswith("Solve the following math problem") and text.endswith(fs["suffix"] + "P?")
    assert text.count(fs["template"].split("{")[0]) == len(code)


# --------------------------------------------------------------------------- exact requests

def _expected(upstream: Path, name: str, row: dict, examples: str = "", system=None) -> List[dict]:
    conf = yaml.safe_load((upstream / "config" / f"{name}.yaml").read_text())
    system = conf.get("system") if system is None else system
    msgs = [] if system is None else [{"role": "system", "content": system}]
    return msgs + [{"role": "user", "content": conf["user"].format(examples=examples, **row)}]


def _math_examples(upstream: Path, name: str) -> str:
    fs = yaml.safe_load((upstream / "config/generic/math.yaml").read_text())["few_shot_examples"]
    sets = literal_examples(upstream / "few_shot_examples")
    return fs["prefix"] + "".join(fs["template"].format(**ex) for ex in sets[name]) + fs["suffix"]


CASES = {  # id: (data file, prompt config, extra overrides, examples set, system message)
    "gpqa-mcq-4choices-boxed": ("gpqa/diamond.jsonl", "eval/aai/mcq-4choices-boxed", [], None, None),
    "gpqa-general-boxed": ("gpqa/diamond.jsonl", "generic/general-boxed", [], None, None),
    "gpqa-default": ("gpqa/diamond.jsonl", "eval/aai/mcq-4choices", [], None, None),
    "mmlu-pro": ("mmlu-pro/test.jsonl", "eval/aai/mcq-10choices", [], None, None),
    "mmlu-pro-boxed-think": ("mmlu-pro/test.jsonl", "eval/aai/mcq-10choices-boxed", ["++system_message=/think"],
                             None, "/think"),
    "math-500": ("math-500/test.jsonl", "generic/math", [], None, None),
    "math-500-few-shot": ("math-500/test.jsonl", "generic/math", ["++examples_type=math_text_detailed"],
                          "math_text_detailed", None),
    "aime24": ("aime24/test.jsonl", "generic/math", [], None, None),
    "aime25": ("aime25/test.jsonl", "generic/math", ["++system_message="], None, ""),
    "hle": ("hle/text.jsonl", "generic/hle", [], None, None),
    "hle-judge": ("hle/text.jsonl", "judge/hle", ["++generation_key=judgement", "++add_generation_stats=False"],
                  None, None),
}


@pytest.fixture(scope="module")
def recording_stub(tmp_path_factory):
    record = tmp_path_factory.mktemp("stub") / "requests.jsonl"
    with StubProcess(answer="Answer: \\boxed{A}", record=record) as stub:
        stub.record = record
        yield stub


@pytest.mark.parametrize("case", sorted(CASES))
def test_request_messages_equal_the_reference_template(case, data, upstream, recording_stub, tmp_path):
    rel, prompt, extra, examples, system = CASES[case]
    src = data / rel
    if case == "hle-judge":  # judge input: generation rows carry the model's answer
        judged = [dict(r, generation=f"Explanation: ...\nAnswer: {r['expected_answer']}\nConfidence: 90%")
                  for r in read_jsonl(src, 5)]
        src = tmp_path / "generated.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in judged))
    rows = read_jsonl(src, 5)
    out = tmp_path / "out.jsonl"
    before = len(Path(recording_stub.record).read_text().splitlines()) if Path(recording_stub.record).exists() else 0
    res = subprocess.run(generate_cmd(recording_stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                      f"++prompt_config={prompt}", "++max_samples=5", "++max_concurrent_requests=1",
                                      *extra), cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "SKILLS_PROMPT_SET_DIR": str(set_dir(data))})
    assert res.returncode == 0, res.stderr
    assert "own wording" not in res.stderr
    sent = [json.loads(line)["body"]["messages"] for line in Path(recording_stub.record).read_text().splitlines()[before:]]
    shots = _math_examples(upstream, examples) if examples else ""
    assert sent == [_expected(upstream, prompt, row, shots, system) for row in rows]
    key = "judgement_prompt_source" if case == "hle-judge" else "prompt_source"
    assert [json.loads(line)[key] for line in out.read_text().splitlines()] == [LABEL] * len(rows)


def test_per_row_examples_type(data, upstream, recording_stub, tmp_path):
    """``++examples_type`` is formatted with the row: MMLU-Pro rows name their category's examples."""
    rows = read_jsonl(data / "mmlu-pro/test.jsonl", 3)
    cfg = GenerateConfig(prompt_config="generic/general-boxed", prompt_set_dir=str(set_dir(data)),
                         examples_type="{examples_type}")
    fs = yaml.safe_load((upstream / "config/generic/general-boxed.yaml").read_text())["few_shot_examples"]
    sets = literal_examples(upstream / "few_shot_examples")
    builder = PromptBuilder(cfg)
    for row in rows:
        shots = fs["prefix"] + "".join(fs["template"].format(**ex) for ex in sets[row["examples_type"]]) + fs["suffix"]
        assert builder.messages(row, "x") == _expected(upstream, "generic/general-boxed", row, shots)

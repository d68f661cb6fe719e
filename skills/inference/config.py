"""Typed configuration of the generation program (``python -m skills.inference.generate``).

This dataclass tree is THE schema every ``++key=value`` override of ``ns eval`` / ``ns generate``
is validated against before anything is launched (see ``skills.config.overrides``). Field names
follow the reference tool so that pasted tutorial commands keep working. Defaults live here and in
``configs/generate.yaml`` (which only documents/overrides them for Hydra composition).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class InferenceConfig:
    """Sampling parameters sent with every request."""

    endpoint_type: str = "chat"  # chat | text | responses (the OpenAI Responses API, POST /responses)
    temperature: float = 0.0
    top_k: int = -1
    top_p: float = 0.95
    min_p: float = 0.0
    random_seed: int = 0
    tokens_to_generate: Optional[int] = None
    repetition_penalty: float = 1.0
    top_logprobs: Optional[int] = None
    timeout: Optional[float] = 14400.0  # seconds per request (null: no limit); long enough for 32k-65k-token reasoning
    reasoning_effort: Optional[str] = None
    # OpenAI API, models that are not o-series / gpt-5: None sends presence_penalty=repetition_penalty,
    # as the reference does (its quirk: 1.0 by default, the tutorials' judge setting); a number sends
    # that number to any server instead
    presence_penalty: Optional[float] = None
    stop: List[str] = field(default_factory=list)
    extra_body: Dict[str, Any] = field(default_factory=dict)


@dataclass
class CodeExecutionConfig:
    """``++server.code_execution.*``: the code-execution loop of ``++code_execution=True`` (the
    reference's names and defaults; see ``skills.inference.code_execution`` and docs/generation.md)."""

    max_code_output_characters: int = 1000  # longer stdout/stderr is cut and marked "<output cut>"
    code_execution_timeout: float = 10.0  # seconds per code block
    code_execution_language: str = "ipython"  # ipython (state kept between blocks) | python (each block alone)
    code_execution_headers: List[str] = field(default_factory=list)  # lines put before every block
    max_code_executions: int = 8  # code blocks run per generation (the model gets one more turn after them)
    sandbox_traceback_verbosity: str = "plain"  # IPython's traceback mode: plain | context | verbose | minimal
    add_remaining_code_executions: bool = False  # tell the model after each output how many runs it has left


@dataclass
class ServerConfig:
    """Where requests go. Filled by the pipeline (host/port of the in-job server, or base_url)."""

    server_type: str = "openai"  # vllm | sglang | trtllm | openai | ...
    model: Optional[str] = None
    # full URL incl. /v1; None -> http://{host}:{port}/v1; several comma-separated: requests are
    # spread over them (least outstanding requests first; one that stops answering is skipped)
    base_url: Optional[str] = None
    host: str = "127.0.0.1"
    port: int = 5000
    api_key: Optional[str] = None  # prefer api_key_env_var: keys must never land in files/logs
    api_key_env_var: Optional[str] = None
    max_retries: int = 8  # per request: connection errors, timeouts, 429 and 5xx are retried
    retry_base_delay_s: float = 0.25  # exponential backoff, full jitter, unless Retry-After says otherwise
    retry_max_delay_s: float = 30.0
    retry_after_max_s: float = 600.0  # a server's Retry-After is honoured exactly up to this
    wait_for_server_s: float = 3600.0  # how long to wait for a booting server before failing
    # each endpoint's concurrency adapts (AIMD) between 1 and max_concurrent_requests: it grows
    # while latency holds and backs off on 429/503/timeouts; False: always max_concurrent_requests;
    # None: adaptive for APIs (openai, azureopenai, gemini, generic), fixed for engines (vllm, sglang,
    # trtllm, megatron), which queue requests themselves
    adaptive_concurrency: Optional[bool] = None
    # where it starts (None: max_concurrent_requests for engines (vllm, sglang, trtllm, megatron),
    # which queue requests themselves; 16 for APIs)
    initial_concurrency: Optional[int] = None
    # growth stops and the limit eases off when the latency per token exceeds this factor of the
    # lowest seen (None: 1.5 for APIs, off for engines, whose latency grows with batching; 0: off)
    latency_tolerance: Optional[float] = None
    tokenizer: Optional[str] = None
    use_v1_endpoint: bool = True  # False: base_url is http://{host}:{port} without /v1
    # reference spellings: enable_soft_fail = ++soft_fail; on a context-length error,
    # context_limit_retry_strategy=reduce_generation retries once with max_tokens cut to what fits
    enable_soft_fail: bool = False
    context_limit_retry_strategy: Optional[str] = None
    num_special_tokens_budget: int = 100
    code_execution: CodeExecutionConfig = field(default_factory=CodeExecutionConfig)


@dataclass
class GenSelectConfig:
    """The GenSelect request: its prompt and how the chosen index is read from the reply."""

    prompt_config: str = "generic/genselect"
    regex: str = r"Judg[e]?ment: (\d+)"  # the last match's group is the chosen candidate's index


@dataclass
class GenSynthesisConfig:
    """The GenSynthesis request: its prompt and how the new solution is read from the reply."""

    prompt_config: str = "generic/gensynthesis"
    regex: str = r"<NEW_SOLUTION>(.*?)</NEW_SOLUTION>"  # the last match (stripped) is the new solution


@dataclass
class ParallelThinkingConfig:
    """``++parallel_thinking.*``: GenSelect / GenSynthesis over several candidate solutions per row
    (``skills.inference.parallel_thinking``; the reference's names and defaults)."""

    mode: Optional[str] = None  # genselect | gensynthesis (None: off)
    # the selection request's own sampling (the candidates use ++inference.*)
    temperature: float = 0.6
    tokens_to_generate: Optional[int] = None
    endpoint_type: str = "chat"  # chat | text | responses
    genselect: GenSelectConfig = field(default_factory=GenSelectConfig)
    gensynthesis: GenSynthesisConfig = field(default_factory=GenSynthesisConfig)
    window_size: int = 8  # candidates generated per row (online), at most this many compared (offline)
    solution_key: str = "generation"  # the field of a candidate that holds its solution
    solution_length_cap: Optional[int] = 16384  # candidates longer than this (characters) are dropped
    filter_incomplete_solutions: bool = True  # empty candidates are dropped
    parse_reasoning_solutions: bool = True  # a candidate is its text after end_reasoning_string, when it has one
    # offline: candidates read from output-rs*.jsonl in this folder (the first num_initial_solutions files)
    generation_dir: Optional[str] = None
    num_initial_solutions: Optional[int] = None
    # the reference's keys that its top-level setting of the same name overrides: accepted when unset
    # or equal to that setting (see check in skills.inference.parallel_thinking)
    parse_reasoning: bool = False
    end_reasoning_string: str = "</think>"
    tokenizer: Optional[str] = None
    chat_template_kwargs: Dict[str, Any] = field(default_factory=dict)
    start_assistant_response_key: Optional[str] = None
    count_prompt_tokens: bool = False


@dataclass
class GenerateConfig:
    """The generation program's config. Unknown keys are errors (no silent forwarding)."""

    input_file: Optional[str] = None
    output_file: Optional[str] = None
    # benchmark input via prepared data: <data_dir>/<benchmark>/<split>.jsonl
    benchmark: Optional[str] = None
    data_dir: Optional[str] = None
    split: Optional[str] = None

    prompt_config: Optional[str] = None  # e.g. generic/math or a path to a .yaml
    # folder of the fetched reference prompt set (None: $SKILLS_PROMPT_SET_DIR, else
    # <data_dir>/.prompt-sets/nemo-skills/<commit>; "none": only our own prompts/)
    prompt_set_dir: Optional[str] = None
    # reference: a prompt whose reference wording is missing (set not fetched or disabled) is an
    # error; own: our prompts/ wording stands in, and tables, metrics.json and reports mark it
    # (None: $SKILLS_PROMPT_SOURCE, else reference)
    prompt_source: Optional[str] = None
    code_tags: Optional[str] = None  # code_tags/<name>.yaml of the prompt set (few-shot code markers)
    prompt_format: str = "ns"  # ns (prompt_config) | openai (input lines carry `messages`)
    prompt_suffix: str = ""
    system_message: Optional[str] = None  # '' = explicitly empty system message
    examples_type: Optional[str] = None
    few_shot_examples: int = 0
    start_assistant_response_key: Optional[str] = None
    chat_template_kwargs: Dict[str, Any] = field(default_factory=dict)
    tokenizer: Optional[str] = None

    server: ServerConfig = field(default_factory=ServerConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    max_samples: int = -1
    skip_filled: bool = False
    max_concurrent_requests: int = 512
    # a request that fails for good (not retryable, or retries exhausted) gives an empty generation
    # with an `error` field instead of ending the run
    soft_fail: bool = False
    num_chunks: Optional[int] = None
    chunk_id: Optional[int] = None

    add_generation_stats: bool = True
    count_prompt_tokens: bool = False
    generation_key: str = "generation"
    async_position_key: str = "_async_position"  # input index carried by journal lines
    stop_phrase: Optional[str] = None
    # the generation ends before the first stop phrase (stop_phrase, inference.stop), as the
    # reference cuts it; True keeps the phrase at the end of the generation
    keep_stop_phrase: bool = False
    dry_run: bool = False

    # reasoning models: split "<think>...</think>answer"
    parse_reasoning: bool = False
    end_reasoning_string: str = "</think>"
    # with parse_reasoning: a generation without end_reasoning_string becomes "" (the reference's
    # rule) even when the server's reasoning parser already moved the thoughts to reasoning_content;
    # True keeps such a content as the answer
    trust_server_reasoning: bool = False

    # grading after generation (see skills.evaluation)
    eval_type: Optional[str] = None  # math | multichoice | ...
    eval_config: Dict[str, Any] = field(default_factory=dict)
    skip_grading: bool = False  # set by ns eval when grading is a job step of its own (no .done here)

    # GenSelect / GenSynthesis over several candidate solutions per row (docs/generation.md)
    parallel_thinking: ParallelThinkingConfig = field(default_factory=ParallelThinkingConfig)

    # tool calling (passed through to the server)
    tools: Optional[List[Dict[str, Any]]] = None
    # tools run by this program (skills.inference.tools): specs such as PythonTool, module::Class or
    # path/to/file.py::Class; settings per tool class: ++tool_overrides.PythonTool.exec_timeout_s=30
    tool_modules: Optional[List[str]] = None
    tool_overrides: Dict[str, Any] = field(default_factory=dict)

    # the reference's litellm disk cache: our resume journal (<output>-async) already keeps every
    # finished request across a killed job, so this only logs that it is covered
    enable_litellm_cache: bool = False

    # code execution during generation (skills.inference.code_execution; settings in server.code_execution):
    # code blocks between the code_tags' markers run in the sandbox and their output is added to the text
    code_execution: bool = False
    # the prompt's {total_code_executions}: a number, or [min, max] drawn per row (from the seed and the row)
    total_code_executions_in_prompt: Any = None
    # True (with total_code_executions_in_prompt): a row's total_code_executions is its limit of code runs
    override_max_code_executions: bool = False

    # accepted for compatibility with the reference's commands
    use_completions_api: bool = False
    wait_for_sandbox: bool = False
    sandbox: Dict[str, Any] = field(default_factory=dict)

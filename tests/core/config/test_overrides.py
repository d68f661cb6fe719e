"""++ overrides: validated against GenerateConfig, re-quoted so values survive bash + Hydra."""

import shlex

import pytest

from skills.config.errors import UsageError
from skills.config.overrides import apply_overrides, is_override, validate_overrides
from skills.inference.config import GenerateConfig

TRICKY = ["", "/think", "a,b", "x=y", "it's", 'say "hi"', "  padded ", "true", "a b c", "back\\slash\\", "[1,2]"]


@pytest.mark.parametrize("value", TRICKY)
def test_string_round_trip_through_bash_and_hydra(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    tokens = validate_overrides([f"++system_message={value}"], GenerateConfig)
    line = " ".join(shlex.quote(t) for t in tokens)  # what goes into the job's bash command
    argv = shlex.split(line)  # what bash hands the program
    parsed = OverridesParser.create().parse_overrides(argv)
    assert parsed[0].value() == value
    assert apply_overrides(argv, GenerateConfig).system_message == value


def test_typed_values_keep_their_type():
    cfg = apply_overrides(validate_overrides([
        "++inference.temperature=0.6", "++inference.tokens_to_generate=32768", "++skip_filled=True",
        "++inference.tokens_to_generate=null", "++inference.stop=[a,b]",
    ], GenerateConfig), GenerateConfig)
    assert cfg.inference.temperature == 0.6 and cfg.skip_filled is True
    assert cfg.inference.tokens_to_generate is None and cfg.inference.stop == ["a", "b"]


def test_later_overrides_win():
    cfg = apply_overrides(["++inference.temperature=0.7", "++inference.temperature=0.6"], GenerateConfig)
    assert cfg.inference.temperature == 0.6


def test_dict_fields_accept_new_keys():
    cfg = apply_overrides(validate_overrides([
        "++inference.extra_body.top_a=3", "++eval_config.split=diamond", "++eval_config.tags=a,b",
        "++chat_template_kwargs.enable_thinking=false", "+sandbox.host=h",
    ], GenerateConfig), GenerateConfig)
    assert cfg.inference.extra_body == {"top_a": 3}
    assert cfg.eval_config == {"split": "diamond", "tags": "a,b"}
    assert cfg.chat_template_kwargs == {"enable_thinking": False}
    assert cfg.sandbox == {"host": "h"}


def test_delete_dict_key_and_reset_field():
    cfg = apply_overrides(["++eval_config.a=1", "~eval_config.a", "++max_samples=3", "~max_samples"], GenerateConfig)
    assert cfg.eval_config == {} and cfg.max_samples == GenerateConfig().max_samples


@pytest.mark.parametrize("token,needle", [
    ("++inference.temprature=0.7", "inference.temperature"),
    ("++inference.temperature=abc", "inference.temperature=abc"),
    ("++max_samples=many", "max_samples"),
    ("++nonsense=1", "nonsense"),
    ("++inference.extra=1", "extra_body"),
    ("++system_message", "no '='"),
])
def test_bad_overrides_name_the_key(token, needle):
    with pytest.raises(UsageError) as err:
        validate_overrides([token], GenerateConfig)
    assert needle in err.value.message
    assert "\n" not in err.value.message


def test_plus_on_set_key_is_an_error():
    with pytest.raises(UsageError, match="already set"):
        validate_overrides(["++eval_config.a=1", "+eval_config.a=2"], GenerateConfig)


def test_is_override():
    assert is_override("++a=1") and is_override("+a=1") and is_override("~a") and is_override("a.b=1")
    assert not is_override("--a=1") and not is_override("stray")


def test_configs_generate_yaml_matches_schema():
    """configs/generate.yaml documents the defaults: every key in it must exist with the same value."""
    from pathlib import Path

    from omegaconf import OmegaConf

    from skills.resources import configs_dir

    doc = OmegaConf.to_container(OmegaConf.load(Path(configs_dir()) / "generate.yaml"))
    real = OmegaConf.to_container(OmegaConf.structured(GenerateConfig))

    def walk(d, r, prefix=""):
        for k, v in d.items():
            assert k in r, f"configs/generate.yaml has {prefix}{k}, which GenerateConfig lacks"
            if isinstance(v, dict) and v:
                walk(v, r[k], f"{prefix}{k}.")
            else:
                assert v == r[k], f"{prefix}{k}: yaml says {v!r}, GenerateConfig {r[k]!r}"

    walk(doc, real)

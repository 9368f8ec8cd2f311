"""The config tree's node type: yacs's CfgNode that reads YAML with clipfit's strict loader."""
from __future__ import annotations

import os

from yacs.config import CfgNode as CN

from ..core.config_files import read_config_text


class ConfigNode(CN):
    """yacs's CfgNode whose `merge_from_file` / `load_cfg` read YAML with clipfit's loader: a key set twice
    or a dotted key in a file is an error naming the file and line, not a key dropped or misread (other
    repositories' train.py files merge their configs this way)."""

    @classmethod
    def _load_cfg_from_file(cls, file_obj):
        name = str(getattr(file_obj, "name", ""))
        if os.path.splitext(name)[1] in ("", ".yaml", ".yml"):  # what yacs reads as YAML
            return cls._read(file_obj.read(), name)
        return super()._load_cfg_from_file(file_obj)

    @classmethod
    def _load_cfg_from_yaml_str(cls, str_obj):
        return cls._read(str_obj, "config text")

    @classmethod
    def _read(cls, text: str, source: str):
        data = read_config_text(text, source, allow_empty=True)  # yacs merges an empty file: said, not refused
        if not data:
            print(f"Note: {source} is empty: it sets no config key")
        return cls(data)

    @classmethod
    def _decode_cfg_value(cls, value):
        # A merged node stays a plain CfgNode, the type of every node below the root (and of the ones the
        # plugins' extend_cfg add): yacs requires a replacement to have the type of what it replaces.
        return CN._decode_cfg_value(value)

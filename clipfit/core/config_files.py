"""Reading config YAML files: the one loader of train.py, the jobs and the engine's config tree.

yacs reads a file with `yaml.safe_load`, which keeps the last of two equal keys (a second `OPTIM:` block
drops every key of the first without a word) and takes a dotted key (`OPTIM.LR: 5`) as one name the tree
lacks. Here both are errors that name the file, the key and the lines; so is a file that sets nothing,
which would leave every key it should set at the engine's default.
"""
from __future__ import annotations

import yaml
from yacs.config import CfgNode as CN

from ..errors import UserInputError

_MERGE_KEY = "<<"  # YAML's merge key (`<<: *anchor`): not a config key


class ConfigFileError(UserInputError, ValueError):
    """A config file that does not say what it seems to say; the message names the file, key and line."""


def _where(source: str, flag: str) -> str:
    return f"{flag} {source}" if flag else source


def _scalar_text(node) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) and node.value != "" else "<value>"


def _check_keys(node: yaml.MappingNode, where: str, prefix: str = "") -> None:
    """Every key of `node` and of the mappings below it once, and none with a dot in its name."""
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value == _MERGE_KEY:
            continue
        key, line = key_node.value, key_node.start_mark.line + 1
        full = prefix + key
        if "." in key:
            parts = full.split(".")
            nested = " then ".join(f"`{'  ' * depth}{part}:`" for depth, part in enumerate(parts[:-1]))
            nested += f" then `{'  ' * (len(parts) - 1)}{parts[-1]}: {_scalar_text(value_node)}`"
            raise ConfigFileError(
                f"{where}, line {line}: `{key}:` is a dotted key. A YAML config file nests its keys, one level "
                f"per line: {nested}, each on its own line; the dotted form ({full} VALUE) is for the KEY VALUE "
                "options on the command line")
        if key in seen:
            effect, fix = (("every key of the first block would be dropped", "merge the two blocks into one")
                           if isinstance(value_node, yaml.MappingNode) else ("the first value would be ignored",
                                                                             "keep one of them"))
            raise ConfigFileError(
                f"{where}: {full} is set twice, on line {seen[key]} and on line {line}. YAML keeps only the second, "
                f"so {effect} without a word; {fix}")
        seen[key] = line
        if isinstance(value_node, yaml.MappingNode):
            _check_keys(value_node, where, full + ".")


def read_config_text(text: str, source: str, flag: str = "", allow_empty: bool = False) -> dict:
    """The mapping a config file's `text` holds, after the checks above. `source` names the file in
    messages, `flag` the option that chose it (`--config-file`). An empty file (no key, only comments)
    is an error unless `allow_empty`; then it is {}, as yacs reads it."""
    where = _where(source, flag)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and isinstance(node, yaml.MappingNode):
            _check_keys(node, where)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigFileError(f"{where}: not valid YAML: {e}") from e
    if data is None or data == {}:
        if allow_empty:
            return {}
        raise ConfigFileError(
            f"{where} is empty: it sets no config key, so the run would use the engine's defaults for everything "
            "this file should set (for a trainer config: adam, lr 0.0003, 10 epochs, batch 32). Fill it in, or "
            f"give {flag or 'the run'} another file (e.g. one of configs/trainers/<Trainer>/)")
    if not isinstance(data, dict):
        raise ConfigFileError(f"{where}: must be a mapping of config keys (e.g. `OPTIM:` then `  LR: 0.002`), "
                              f"not a YAML {type(data).__name__}")
    return data


def load_config_file(path: str, flag: str = "", allow_empty: bool = False) -> CN:
    """The config file at `path` as a CfgNode to merge (`cfg.merge_from_other_cfg`), read by `read_config_text`."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise ConfigFileError(f"{_where(path, flag)}: not a text file ({e})") from e
    except OSError as e:
        raise ConfigFileError(f"{_where(path, flag)}: cannot be read ({e.strerror or e})") from e
    return CN(read_config_text(text, path, flag, allow_empty))

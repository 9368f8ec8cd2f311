"""Dassl's `dassl.utils` names."""
from ...core.checkpoints import load_checkpoint, load_pretrained_weights, resume_from_checkpoint, save_checkpoint
from ..meters import AverageMeter, MetricMeter
from ..registry import Registry, check_availability, get_most_similar_str_to_a_from_b
from .env import collect_env_info, count_num_param, set_random_seed
from .images import read_image
from .layers import (
    adjust_learning_rate,
    init_network_weights,
    open_all_layers,
    open_specified_layers,
    set_bn_to_eval,
)
from .logger import Logger, setup_logger
from .tools import (
    check_isfile,
    download_url,
    listdir_nohidden,
    mkdir_if_missing,
    read_json,
    tolist_if_not,
    write_json,
)

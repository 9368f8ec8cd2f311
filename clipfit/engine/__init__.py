"""Built-in engine with the public API of Dassl.pytorch that CoOp-style code uses (`dassl_shim` serves
it under Dassl's own module paths).

Import these names through `clipfit.compat`, which can swap in a real Dassl installation.
"""
from .config import clean_cfg, get_cfg_default
from .data.base_dataset import DatasetBase, Datum, build_dataset
from .data.data_manager import DataManager, DatasetWrapper, build_data_loader
from .data.samplers import build_sampler
from .data.transforms import INTERPOLATION_MODES, build_transform
from .evaluation import Classification, EvaluatorBase, build_evaluator
from .meters import AverageMeter, MetricMeter
from .metrics import compute_accuracy, compute_distance_matrix, cosine_distance, euclidean_squared_distance
from .modeling import (
    BACKBONE_REGISTRY,
    HEAD_REGISTRY,
    NETWORK_REGISTRY,
    Backbone,
    build_backbone,
    build_head,
    build_network,
)
from .optim import ConstantWarmupScheduler, LinearWarmupScheduler, RAdam, build_lr_scheduler, build_optimizer
from .registry import DATASET_REGISTRY, EVALUATOR_REGISTRY, TRAINER_REGISTRY, Registry, check_availability
from .trainer import SimpleNet, SimpleTrainer, TrainerBase, TrainerX, TrainerXU, build_trainer
from .utils import (
    check_isfile,
    collect_env_info,
    count_num_param,
    listdir_nohidden,
    load_checkpoint,
    load_pretrained_weights,
    mkdir_if_missing,
    read_image,
    read_json,
    resume_from_checkpoint,
    save_checkpoint,
    set_random_seed,
    setup_logger,
    tolist_if_not,
    write_json,
)

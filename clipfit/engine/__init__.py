"""Built-in engine with the public API of Dassl.pytorch that CoOp-style code uses (`dassl_shim` serves
it under Dassl's own module paths).

Import these names through `clipfit.compat`, which can swap in a real Dassl installation. Each name is
imported from its module on first use: the registries and the dataset base classes need no torch, so
`import datasets` (what `clipfit data check` and `clipfit report` read) does not wait for it.
"""
from ..core.lazy_exports import lazy_exports

# engine module -> the public names it holds
_MODULES = {
    ".config_defaults": ("clean_cfg", "get_cfg_default"),
    ".data.base_dataset": ("DatasetBase", "Datum", "build_dataset"),
    ".data.data_manager": ("DataManager", "DatasetWrapper", "build_data_loader"),
    ".data.samplers": ("build_sampler",),
    ".data.transforms": ("INTERPOLATION_MODES", "build_transform"),
    ".evaluation": ("Classification", "EvaluatorBase", "build_evaluator"),
    ".meters": ("AverageMeter", "MetricMeter"),
    ".metrics": ("compute_accuracy", "compute_distance_matrix", "cosine_distance", "euclidean_squared_distance"),
    ".modeling": ("BACKBONE_REGISTRY", "HEAD_REGISTRY", "NETWORK_REGISTRY", "Backbone", "build_backbone",
                 "build_head", "build_network"),
    ".optim": ("ConstantWarmupScheduler", "LinearWarmupScheduler", "RAdam", "build_lr_scheduler", "build_optimizer"),
    ".registry": ("DATASET_REGISTRY", "EVALUATOR_REGISTRY", "TRAINER_REGISTRY", "Registry", "check_availability"),
    ".trainer": ("SimpleNet", "SimpleTrainer", "TrainerBase", "TrainerX", "TrainerXU", "build_trainer"),
    ".utils": ("check_isfile", "collect_env_info", "count_num_param", "listdir_nohidden", "load_checkpoint",
              "load_pretrained_weights", "mkdir_if_missing", "read_image", "read_json", "resume_from_checkpoint",
              "save_checkpoint", "set_random_seed", "setup_logger", "tolist_if_not", "write_json"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _MODULES)

"""The repository's own config tree (not Dassl's `get_cfg_default`): only the keys its runs use, so it has no
DATALOADER.TRAIN_U and none of the built-in engine's own keys."""
from yacs.config import CfgNode as CN


def get_cfg_default():
    cfg = CN()
    cfg.OUTPUT_DIR, cfg.RESUME, cfg.SEED, cfg.USE_CUDA, cfg.VERBOSE = "./output", "", -1, True, True
    cfg.INPUT = CN()
    cfg.INPUT.SIZE, cfg.INPUT.INTERPOLATION = (8, 8), "bilinear"
    cfg.INPUT.TRANSFORMS, cfg.INPUT.NO_TRANSFORM = (), False
    cfg.INPUT.PIXEL_MEAN, cfg.INPUT.PIXEL_STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
    cfg.INPUT.RANDAUGMENT_N, cfg.INPUT.RANDAUGMENT_M = 2, 10
    cfg.DATASET = CN()
    cfg.DATASET.ROOT, cfg.DATASET.NAME, cfg.DATASET.NUM_SHOTS, cfg.DATASET.SUBSAMPLE_CLASSES = "", "", -1, "all"
    cfg.DATASET.SOURCE_DOMAINS, cfg.DATASET.TARGET_DOMAINS = (), ()
    cfg.DATALOADER = CN()
    cfg.DATALOADER.NUM_WORKERS, cfg.DATALOADER.K_TRANSFORMS, cfg.DATALOADER.RETURN_IMG0 = 0, 1, False
    cfg.DATALOADER.TRAIN_X = CN({"SAMPLER": "RandomSampler", "BATCH_SIZE": 2, "N_DOMAIN": 0, "N_INS": 16})
    cfg.DATALOADER.TEST = CN({"SAMPLER": "SequentialSampler", "BATCH_SIZE": 8})
    cfg.MODEL = CN()
    cfg.MODEL.INIT_WEIGHTS = ""
    cfg.MODEL.BACKBONE = CN({"NAME": "", "PRETRAINED": True})
    cfg.OPTIM = CN({
        "NAME": "sgd", "LR": 0.5, "WEIGHT_DECAY": 5e-4, "MOMENTUM": 0.9, "SGD_DAMPNING": 0, "SGD_NESTEROV": False,
        "RMSPROP_ALPHA": 0.99, "ADAM_BETA1": 0.9, "ADAM_BETA2": 0.999, "STAGED_LR": False, "NEW_LAYERS": (),
        "BASE_LR_MULT": 0.1, "LR_SCHEDULER": "cosine", "STEPSIZE": (-1,), "GAMMA": 0.1, "MAX_EPOCH": 1,
        "WARMUP_EPOCH": -1, "WARMUP_TYPE": "linear", "WARMUP_CONS_LR": 1e-5, "WARMUP_MIN_LR": 1e-5,
        "WARMUP_RECOUNT": True,
    })
    cfg.TRAIN = CN({"CHECKPOINT_FREQ": 0, "PRINT_FREQ": 5, "COUNT_ITER": "train_x"})
    cfg.TEST = CN({"EVALUATOR": "Classification", "PER_CLASS_RESULT": False, "COMPUTE_CMAT": False,
                   "NO_TEST": False, "SPLIT": "test", "FINAL_MODEL": "last_step"})
    cfg.TRAINER = CN({"NAME": ""})
    cfg.LOSS = CN({"LAMBDA": 1.0})  # ProGrad's key
    return cfg

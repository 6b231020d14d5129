"""What defines a run, as data: the configuration that papermill, the CLI and results.json share.

Kept free of torch so that ``python -m hpnb --help`` and every argument error answer at once; the
trainer (:mod:`hpnb.train`) imports everything from here. A method is a preset of four orthogonal
switches (see :mod:`hpnb.train`); each paper's optimiser and schedule is a recipe.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

# The names the placement solvers (hpnb.prototypes) and the networks (hpnb.models) accept; those
# modules take them from here.
PLACEMENTS = ("best", "hpn", "riesz", "gaussian", "simplex", "onehot", "random", "privileged", "embedding")
ARCHS = ("resnet20", "resnet32", "resnet56", "resnet18", "resnet34", "dpnp-resnet18", "digits-cnn")
# Width of each backbone's pooled features, the input of the embedding head (hpnb.models).
FEATURE_DIMS = {"resnet20": 64, "resnet32": 64, "resnet56": 64, "resnet18": 512, "resnet34": 512,
                "dpnp-resnet18": 256, "digits-cnn": 128}
EMBED_HEADS = ("linear", "none")  # a Linear(feature width, dim) after the pooled features, or none

OBJECTIVES = ("cosine_sq", "prototype_ce", "softmax_ce", "cosine_softmax", "center", "cpn", "ccl", "dpp", "dpnp",
              "hpn_regression", "squared_regression", "joint", "multitask")
REGRESSION_OBJECTIVES = ("hpn_regression", "squared_regression")  # a value per image, no classes
VALUE_OBJECTIVES = REGRESSION_OBJECTIVES + ("joint", "multitask")  # need the dataset's targets
SUMMED_OBJECTIVES = ("cosine_sq",) + VALUE_OBJECTIVES  # summed over the batch by _objective; the others are batch means
# What each history field of a run measures, written into every results file beside the history.
HISTORY_UNITS = {
    "train_loss": "the objective per training image, averaged over the epoch (a summed objective is "
                  "divided by its batch size, so every objective is in the same unit)",
    "test_acc": "fraction of test images classified correctly",
    "test_mae": "mean absolute error on test images, in the target's own unit",
    "test_scr": "separation to compactness ratio (DPNP Eq. 13) of unit vectors over the test images",
    "train_scr_raw": "DPNP Eq. 13 as printed: raw features and class directions over the training images "
                     "(last epoch only)",
    "lr": "learning rate of the network's parameter group at the end of the epoch",
    "train_images_per_s": "training images per second, augmentation included, evaluation excluded",
    "epoch_seconds": "wall seconds of the epoch, evaluation included",
}
# Prototype kinds that are trained, beside the fixed placements: by gradient ("learned", "linear") or
# re-estimated as class means ("means": SCCL's classifier).
HEADS = ("learned", "linear", "means")
AUGMENTS = ("none", "crop-flip", "randaugment")

# Paper recipes: optimiser, learning rate, weight decay and step schedule (milestones as fractions
# of training, each multiplying the rate by 0.1).
RECIPES: dict[str, dict[str, Any]] = {
    # HPN §4 and DL2PA §4.1: SGD 0.01, momentum 0.9, wd 1e-4, x0.1 at 40% and 80% of training.
    "hpn": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4, "milestones": (0.4, 0.8)},
    "dl2pa": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4, "milestones": (0.4, 0.8)},
    # HMPN §4: Adam 1e-3, constant, PyTorch defaults otherwise.
    "hmpn": {"optimizer": "adam", "lr": 1e-3, "momentum": 0.0, "weight_decay": 0.0, "milestones": ()},
    # DPNP §V-B: SGD 0.1, momentum 0.9, wd 5e-4, x0.1 at 25/50/75%.
    "dpnp": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4, "milestones": (0.25, 0.5, 0.75)},
    # DL2PA §4.1, long-tailed CIFAR: SGD 0.1, momentum 0.9, wd 2e-4, x0.1 at epochs 160 and 180 of 200.
    "dl2pa-lt": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 2e-4, "milestones": (0.8, 0.9)},
}

PRESETS: dict[str, dict[str, Any]] = {
    # The softmax and centre-loss baselines train with DPNP's recipe, as in DPNP's comparisons: with
    # HPN's SGD 0.01 a mean-reduced CE is 1/batch as fast as HPN's summed loss (65% on digits after
    # 15 epochs, against 99% for hpn).
    "ce": {"prototypes": "linear", "objective": "softmax_ce", "mixing": False, "assignment": "static", "recipe": "dpnp"},
    "center": {"prototypes": "linear", "objective": "center", "mixing": False, "assignment": "static", "recipe": "dpnp"},
    "hpn": {"prototypes": "hpn", "objective": "cosine_sq", "mixing": False, "assignment": "static", "recipe": "hpn"},
    "proto-ce": {"prototypes": "hpn", "objective": "prototype_ce", "mixing": False, "assignment": "static", "recipe": "hpn"},
    "hmpn": {"prototypes": "riesz", "objective": "cosine_sq", "mixing": True, "assignment": "static", "recipe": "hmpn"},
    "hmpn-ce": {"prototypes": "riesz", "objective": "prototype_ce", "mixing": True, "assignment": "static", "recipe": "hmpn"},
    "dl2pa": {"prototypes": "gaussian", "objective": "cosine_sq", "mixing": False, "assignment": "dynamic", "recipe": "dl2pa"},
    # HPN §3.1's text baseline: softmax CE over scaled cosines to learned class vectors, HPN's recipe.
    "cosine-softmax": {"prototypes": "learned", "objective": "cosine_softmax", "mixing": False, "assignment": "static", "recipe": "hpn"},
    # DPNP's CPN baseline: distance-based CE + prototype loss on learned prototypes, DPNP's recipe.
    "cpn": {"prototypes": "learned", "objective": "cpn", "mixing": False, "assignment": "static", "recipe": "dpnp"},
    # DPNP's CCL and SCCL baselines (Shi et al. 2023): CE on unit classifier weights + a pull to unit
    # centres re-estimated as class means every other epoch; SCCL's classifier is the centres.
    "ccl": {"prototypes": "linear", "objective": "ccl", "mixing": False, "assignment": "static", "recipe": "dpnp"},
    "sccl": {"prototypes": "means", "objective": "ccl", "mixing": False, "assignment": "static", "recipe": "dpnp"},
    "dpp": {"prototypes": "learned", "objective": "dpp", "mixing": False, "assignment": "static", "recipe": "dpnp"},
    "dpnp": {"prototypes": "learned", "objective": "dpnp", "mixing": False, "assignment": "static", "recipe": "dpnp"},
    # HPN §3.2-3.3 (regression and the joint task) with HPN's recipe. For hpn-regression the bounds are
    # +-e0 whatever the placement; for hpn-joint the placement places the classes in e0's complement.
    "hpn-regression": {"prototypes": "best", "objective": "hpn_regression", "mixing": False, "assignment": "static", "recipe": "hpn"},
    "mse-regression": {"prototypes": "linear", "objective": "squared_regression", "mixing": False, "assignment": "static", "recipe": "hpn"},
    "hpn-joint": {"prototypes": "best", "objective": "joint", "mixing": False, "assignment": "static", "recipe": "hpn"},
    "multitask": {"prototypes": "linear", "objective": "multitask", "mixing": False, "assignment": "static", "recipe": "hpn"},
}


class ConfigError(ValueError):
    """A configuration that cannot run (unknown name, impossible combination or dimensions)."""


class Diverged(ConfigError):
    """The loss became NaN or infinite: the run stops, its last good checkpoint kept."""


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# What a field left at None means, for the CLI's help; the other None fields come from the preset.
NONE_MEANS = {
    "lr": "the recipe's", "train_limit": "every training image", "test_limit": "every test image",
    "long_tail": "the balanced set", "image_size": "the dataset's own", "task_weight": "unused; joint and multitask need it",
    "head": "linear; none for learned prototypes at the backbone's feature width",
}


def default_head(prototypes: str | None, arch: str, dim: int) -> str:
    """DPNP Fig. 2: its prototypes are the classifier's weights on the network's pooled features, and
    a linear layer is added only to reduce the dimension (the reduced ResNet-18). So learned prototypes
    at the backbone's own feature width get no head; everything else gets the linear head (HMPN §4,
    HPN's reference code). With a head at the feature width, DPNP's pull (gradient lambda_pos * alpha
    on each feature) makes SGD 0.1 unstable in the head, and the backbone's pooled features die (86%
    zero after 7 steps on CIFAR-10 with ResNet-32): issue 10, chapter 5."""
    return "none" if prototypes == "learned" and FEATURE_DIMS.get(arch) == dim else "linear"


@dataclass
class Config:
    """Everything that defines a run; shared by papermill parameters, the CLI and results.json.

    Fields left ``None`` take the value of the method's preset (:data:`PRESETS`) or recipe.
    """

    dataset: str = "digits"            # "digits" | "imagefolder:PATH" | "cifar10-jpeg:DIR"
    method: str = "hpn"                # a preset of PRESETS
    arch: str = "digits-cnn"           # see hpnb.ARCHS
    dim: int = 16                      # output (prototype) dimension d
    head: str | None = None            # "linear" | "none" (h = the pooled features); None: see resolved()
    epochs: int = 20
    batch_size: int = 128              # images per step
    seed: int = 0
    prototypes: str | None = None      # placement method, "learned" or "linear"
    objective: str | None = None       # one of OBJECTIVES
    mixing: bool | None = None         # CutMix/MixUp with soft labels
    assignment: str | None = None      # "static" | "dynamic"
    recipe: str | None = None          # optimiser and schedule: one of RECIPES
    lr: float | None = None            # overrides the recipe's learning rate
    augment: str = "none"              # "none" | "crop-flip" (pad 4) | "randaugment" (HMPN: 3 ops, magnitude 9)
    train_limit: int | None = None     # keep this many training images (stratified by seed)
    test_limit: int | None = None      # keep this many test images (stratified by seed)
    long_tail: str | None = None       # imbalanced training set: "exp:0.01" (DL2PA) | "linear:2-200" (HPN)
    image_size: int | None = None      # resize images to this side (HMPN: CIFAR-100 at 64)
    alpha: float = 40.0                # DPNP prototype radius
    proto_group: str = "plain"         # DPNP's learned prototypes: "plain" (own group, no momentum/wd) | "shared"
    proto_lr: float | None = None      # learned prototypes' learning rate in their own group; None: the network's (DPNP's eta_c), a tenth of it for CPN
    center_weight: float = 0.01        # weight of the centre loss beside softmax CE, and of CPN's prototype loss
    cpn_gamma: float = 1.0             # CPN: temperature of the softmax over -squared distances (DPNP states none)
    ccl_weight: float = 1.0            # CCL/SCCL: weight of the pull to the unit centres, 1 - cos (DPNP states none)
    cosine_scale: float = 16.0         # logit scale s of the cosine-softmax baseline (HPN states none)
    word_vectors: str = "glove"        # class-name vectors of privileged/embedding prototypes: "glove" (GloVe 6B 50-d) or a word2vec .bin / text file
    lambda_pos: float = 0.1            # DPNP/DPP pull to the own prototype (DPNP Eq. 10)
    lambda_neg_sample: float = 0.1     # DPNP repulsion of a sample from its nearest rival prototype
    lambda_neg_class: float = 0.1      # DPNP repulsion between nearest prototypes
    task_weight: float | None = None   # regression weight w of multitask (and optionally joint): w L_r + (1 - w) L_c
    lt_mixup: float = 0.0              # DL2PA long-tail mixup: Beta(a, a) image pairs, loss lam L(y_a) + (1 - lam) L(y_b); 0 off, DL2PA 1
    class_reweight: bool = False       # DL2PA long-tail: each sample's loss times its class's inverse frequency in the batch
    warmup_epochs: int = 0             # linear learning-rate warm-up over the first epochs (DL2PA's code: 5 for long-tail; not in its paper)
    device: str = "auto"               # "auto" (CUDA if available), "cpu", "cuda", "cuda:1", ...
    compile: bool = False              # torch.compile the embedding net (checkpoints stay loadable without)
    precision: str = "auto"            # "auto" | "fp32" | "bf16" (autocast + channels-last); auto: see hpnb.precision

    def resolved(self) -> "Config":
        """A copy with every ``None`` switch filled from the preset, validated."""
        if self.method not in PRESETS:
            raise ConfigError(f"unknown method {self.method!r}; choose one of {', '.join(PRESETS)}")
        filled = {k: (PRESETS[self.method][k] if getattr(self, k) is None else getattr(self, k))
                  for k in PRESETS[self.method]}
        cfg = dataclasses.replace(self, **filled)
        if cfg.lr is None:
            cfg = dataclasses.replace(cfg, lr=RECIPES.get(cfg.recipe, {}).get("lr"))
        if cfg.head is None:
            cfg = dataclasses.replace(cfg, head=default_head(cfg.prototypes, cfg.arch, cfg.dim))
        cfg.validate()
        return cfg

    def validate(self) -> None:
        checks = [
            (self.objective in OBJECTIVES, f"unknown objective {self.objective!r}; choose one of {', '.join(OBJECTIVES)}"),
            (self.recipe in RECIPES, f"unknown recipe {self.recipe!r}; choose one of {', '.join(RECIPES)}"),
            (self.prototypes in PLACEMENTS + HEADS,
             f"unknown prototypes {self.prototypes!r}; choose one of {', '.join(PLACEMENTS + HEADS)}"),
            (self.assignment in ("static", "dynamic"), f"assignment must be 'static' or 'dynamic', got {self.assignment!r}"),
            (self.arch in ARCHS, f"unknown arch {self.arch!r}; choose one of {', '.join(ARCHS)}"),
            (self.augment in AUGMENTS, f"unknown augment {self.augment!r}; choose one of {', '.join(AUGMENTS)}"),
            (self.dim >= 1, f"dim must be >= 1, got {self.dim}"),
            (self.head in EMBED_HEADS, f"head must be 'linear' or 'none', got {self.head!r}"),
            (self.head != "none" or self.dim == FEATURE_DIMS.get(self.arch),
             f"head 'none' uses the pooled features as h, so dim must be {self.arch}'s feature width "
             f"{FEATURE_DIMS.get(self.arch)}, got {self.dim}"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1"),
            (isinstance(self.compile, bool), f"compile must be true or false, got {self.compile!r}"),
            (self.precision in ("auto", "fp32", "bf16"), f"precision must be auto, fp32 or bf16, got {self.precision!r}"),
            (_finite(self.lr) and self.lr > 0, f"lr must be a finite number > 0, got {self.lr!r}"),
            (_finite(self.alpha) and self.alpha > 0, f"alpha (the DPNP radius) must be a finite number > 0, got {self.alpha!r}"),
            (self.proto_lr is None or (_finite(self.proto_lr) and self.proto_lr > 0),
             f"proto_lr must be a finite number > 0 (or unset), got {self.proto_lr!r}"),
            (_finite(self.cpn_gamma) and self.cpn_gamma > 0, f"cpn_gamma must be a finite number > 0, got {self.cpn_gamma!r}"),
            (_finite(self.ccl_weight) and self.ccl_weight >= 0, f"ccl_weight must be a finite number >= 0, got {self.ccl_weight!r}"),
            (_finite(self.cosine_scale) and self.cosine_scale > 0,
             f"cosine_scale must be a finite number > 0, got {self.cosine_scale!r}"),
            (all(_finite(v) and v >= 0 for v in (self.center_weight, self.lambda_pos, self.lambda_neg_sample,
                                                 self.lambda_neg_class)),
             "center_weight and the lambdas must be finite numbers >= 0"),
            (self.image_size is None or 8 <= self.image_size <= 1024,
             f"image_size must be between 8 and 1024 pixels, got {self.image_size!r}"),
            (self.train_limit is None or self.train_limit >= 1, f"train_limit must be >= 1, got {self.train_limit!r}"),
            (self.test_limit is None or self.test_limit >= 1, f"test_limit must be >= 1, got {self.test_limit!r}"),
            (isinstance(self.word_vectors, str) and self.word_vectors.strip() != "",
             f"word_vectors must be 'glove' or the path of a word-vector file, got {self.word_vectors!r}"),
            (_device_name_ok(self.device), f"unknown device {self.device!r}; use auto, cpu, cuda or cuda:N"),
            (self.proto_group in ("plain", "shared"), f"proto_group must be 'plain' or 'shared', got {self.proto_group!r}"),
            (_finite(self.lt_mixup) and self.lt_mixup >= 0, f"lt_mixup (the Beta parameter) must be a finite number >= 0, got {self.lt_mixup!r}"),
            (isinstance(self.class_reweight, bool), f"class_reweight must be true or false, got {self.class_reweight!r}"),
            (isinstance(self.warmup_epochs, int) and not isinstance(self.warmup_epochs, bool) and 0 <= self.warmup_epochs < self.epochs,
             f"warmup_epochs must be a whole number from 0 to epochs - 1 ({self.epochs - 1}), got {self.warmup_epochs!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if (self.lt_mixup > 0 or self.class_reweight) and self.objective not in ("cosine_sq", "softmax_ce"):
            raise ConfigError(f"lt_mixup and class_reweight (DL2PA's long-tail recipe) need a loss that is linear in "
                              f"the label: cosine_sq or softmax_ce, not {self.objective}")
        if self.lt_mixup > 0 and self.mixing:
            raise ConfigError("lt_mixup (DL2PA's mixup) and mixing (HMPN's CutMix/MixUp) are two readings of mixing: choose one")
        first_step = min((max(1, round(f * self.epochs)) for f in RECIPES[self.recipe]["milestones"]), default=self.epochs)
        if self.warmup_epochs >= first_step:
            raise ConfigError(f"warmup_epochs ({self.warmup_epochs}) must end before the schedule's first step (epoch {first_step})")
        fixed = self.prototypes not in HEADS
        if self.objective in ("cosine_sq", "prototype_ce") and not fixed:
            raise ConfigError(f"objective {self.objective} needs fixed prototypes, not {self.prototypes!r}")
        if self.objective in ("dpp", "dpnp", "cosine_softmax", "cpn") and self.prototypes != "learned":
            raise ConfigError(f"objective {self.objective} trains its prototypes: set prototypes='learned'")
        if self.objective in ("softmax_ce", "center") and self.prototypes != "linear":
            raise ConfigError(f"objective {self.objective} uses a linear classifier: set prototypes='linear'")
        if self.objective == "ccl" and self.prototypes not in ("linear", "means"):
            raise ConfigError("objective ccl classifies with a learned classifier (prototypes='linear': CCL) or with "
                              f"its re-estimated class means (prototypes='means': SCCL), not {self.prototypes!r}")
        if self.prototypes == "means" and self.objective != "ccl":
            raise ConfigError(f"prototypes 'means' (class means re-estimated every other epoch) serve objective ccl only, "
                              f"not {self.objective}")
        if self.assignment == "dynamic" and not fixed:
            raise ConfigError("dynamic assignment re-assigns fixed prototypes; it needs a placement method")
        if self.objective in ("hpn_regression", "joint") and not fixed:
            raise ConfigError(f"objective {self.objective} uses fixed prototypes, not {self.prototypes!r}")
        if self.objective in ("squared_regression", "multitask") and self.prototypes != "linear":
            raise ConfigError(f"objective {self.objective} uses linear heads: set prototypes='linear'")
        if self.objective in VALUE_OBJECTIVES and (self.mixing or self.assignment == "dynamic"):
            raise ConfigError(f"objective {self.objective} predicts values: it takes no mixing and no dynamic assignment")
        if self.objective == "multitask" and self.task_weight is None:
            raise ConfigError("objective multitask needs task_weight, the regression weight in [0, 1] "
                              "(HPN Table 6: 0.01, 0.1, 0.25, 0.5, 0.9)")
        if self.task_weight is not None and (self.objective not in ("joint", "multitask") or not 0 <= self.task_weight <= 1):
            raise ConfigError(f"task_weight must be in [0, 1] and is used by joint and multitask only, got "
                              f"{self.task_weight!r} with objective {self.objective}")
        if self.objective == "joint" and self.dim < 3:
            raise ConfigError("objective joint needs dim >= 3: one axis for the value, the rest for the classes")



def _device_name_ok(name: Any) -> bool:
    return name == "auto" or (isinstance(name, str) and re.fullmatch(r"(cpu|cuda|mps|xpu)(:\d+)?", name) is not None)

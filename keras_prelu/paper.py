"""The paper's numbers, in one place: its hyper-parameters and its reported results.

All from He, Zhang, Ren, Sun, "Delving Deep into Rectifiers", ICCV 2015; each constant
names the table or section it comes from. Errors are ImageNet 2012 val top-1/top-5 in %.
The library's defaults read these constants, the tests check against them and the model
cards print them.
"""

from typing import NamedTuple


class Error(NamedTuple):
    """One reported result: the setting, top-1 and top-5 error (%), and where it is from."""

    setting: str
    top1: float | None
    top5: float
    source: str


# Sec. 2.1: PReLU's slopes start at 0.25; Table 2's LReLU has a fixed slope of 0.25.
PRELU_INITIAL_SLOPE = 0.25
LRELU_SLOPE = 0.25

# Sec. 2.2: the VGG team's fixed std, and the fc stds the paper uses for un-normalised input
# in [-128, 128] ("0.01 for the first two fc layers and 0.001 for the last").
GAUSSIAN_STD = 0.01
SMALL_FC_STDS = {"fc1": 0.01, "fc2": 0.01, "fc3": 0.001}

# Sec. 3, "Training": 224x224 crops of images whose shorter side is jittered in [256, 512];
# mini-batches of 128, SGD with momentum 0.9, weight decay 5e-4, dropout 50% on the first
# two fc layers, learning rate 1e-2, 1e-3, 1e-4 switched when the error plateaus, ~80 epochs.
CROP_SIZE = 224
SCALE_JITTER = (256, 512)
BATCH_SIZE = 128
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
DROPOUT = 0.5
LEARNING_RATES = (1e-2, 1e-3, 1e-4)
EPOCHS = 80

# Sec. 3, "Testing" (shorter sides): 256 for the centre crop and 10-view testing (Tables
# 2, 5); scales 256, 384 and 480 combined for dense testing (Tables 4, 6).
TEST_SCALES = {"center": (256,), "ten_view": (256,), "dense": (256, 384, 480)}

# Table 3, last two rows: depth (conv + fc layers) and complexity (operations, i.e.
# multiply-adds, at 224 x 224).
TABLE3_COMPLEXITY = {"vgg19": 1.96e10, "model_a": 1.90e10, "model_b": 2.32e10, "model_c": 5.30e10}
TABLE3_DEPTH = {"vgg19": 19, "model_a": 19, "model_b": 22, "model_c": 22}

# Table 1's model has 14 weight layers (Sec. 2.1); the deep plain net of Sec. 2.2 has 30
# (27 conv + 3 fc: sixteen 2x2, 256-filter convs added to Table 1's model).
DEPTH = {"small14": 14, "plain30": 30, **TABLE3_DEPTH}

# Table 1: learned PReLU slopes of the 14-layer model, (channel-shared, channel-wise mean).
TABLE1_SLOPES = {
    "conv1": (0.681, 0.596),
    "conv2_1": (0.103, 0.321),
    "conv2_2": (0.099, 0.204),
    "conv2_3": (0.228, 0.294),
    "conv2_4": (0.561, 0.464),
    "conv3_1": (0.126, 0.196),
    "conv3_2": (0.089, 0.152),
    "conv3_3": (0.124, 0.145),
    "conv3_4": (0.062, 0.124),
    "conv3_5": (0.008, 0.134),
    "conv3_6": (0.210, 0.198),
    "fc1": (0.063, 0.074),
    "fc2": (0.031, 0.075),
}

# Sec. 2.2, Discussions: the VGG team's "model B" (10 conv layers, 3x3; 64, 64, 128, 128,
# 256, 256, 512, 512, 512, 512 filters). Eqn 14's std sqrt(2 / n_hat) per filter count, and
# the gradient std from conv10 to conv2 at a fixed std of 0.01, relative to Eqn 14's:
# 1 / (5.9 * 4.2^2 * 2.9^2 * 2.1^4) = 1 / (1.7e4).
VGG_MODEL_B_FILTERS = (64, 64, 128, 128, 256, 256, 512, 512, 512, 512)
VGG_MODEL_B_HE_STD = {64: 0.059, 128: 0.042, 256: 0.029, 512: 0.021}
VGG_MODEL_B_GRADIENT_RATIO = 1 / 1.7e4

# Reported errors per zoo model.
ERRORS = {
    "small14": (
        Error("ReLU", 33.82, 13.34, "Table 2, 10-view"),
        Error("LReLU (a = 0.25)", 33.80, 13.56, "Table 2, 10-view"),
        Error("PReLU, channel-shared", 32.71, 12.87, "Table 2, 10-view"),
        Error("PReLU, channel-wise", 32.64, 12.75, "Table 2, 10-view"),
        Error('ReLU, "Xavier" initialisation', 33.90, 13.44, "Sec. 2.2, 10-view"),
    ),
    "plain30": (Error("ReLU", 38.56, 16.59, "Sec. 2.2, 10-view"),),
    "vgg19": (
        Error("VGG-19, the VGG team's result (arXiv v5)", 24.4, 7.1, "Table 6, multi-scale"),
    ),
    "model_a": (
        Error("ReLU, scale 256", 26.25, 8.25, "Table 4, dense"),
        Error("ReLU, scale 384", 24.77, 7.26, "Table 4, dense"),
        Error("ReLU, scale 480", 25.46, 7.63, "Table 4, dense"),
        Error("ReLU, multi-scale", 24.02, 6.51, "Table 4 / Table 6"),
        Error("PReLU, scale 256", 25.81, 8.08, "Table 4, dense"),
        Error("PReLU, scale 384", 24.20, 7.03, "Table 4, dense"),
        Error("PReLU, scale 480", 24.83, 7.39, "Table 4, dense"),
        Error("PReLU, multi-scale", 22.97, 6.28, "Table 4 / Table 6"),
        Error("ReLU", 26.48, 8.59, "Table 5, 10-view"),
        Error("PReLU", 25.59, 8.23, "Table 5, 10-view"),
    ),
    "model_b": (
        Error("PReLU", 25.53, 8.13, "Table 5, 10-view"),
        Error("PReLU, multi-scale", 22.85, 6.27, "Table 6"),
    ),
    "model_c": (
        Error("PReLU", 24.27, 7.38, "Table 5, 10-view"),
        Error("PReLU, multi-scale", 21.59, 5.71, "Table 6"),
        Error("ensemble of six models (incl. C), test set", None, 4.94, "Table 7"),
    ),
}

# Where each zoo model is described.
SOURCES = {
    "small14": "Table 1: the 14-layer model (model E of He & Sun, CVPR 2015)",
    "plain30": "Sec. 2.2, Figure 3 (right): Table 1's model plus sixteen 2x2, 256-filter convs",
    "vgg19": "Table 3, VGG-19 column, its last pool replaced by SPP as in the paper's reproduction",
    "model_a": "Table 3, model A",
    "model_b": "Table 3, model B (model A with three more conv layers)",
    "model_c": "Table 3, model C (model B, wider)",
}

# Table 8: PASCAL VOC 2007 test mAP (%) of Fast R-CNN detectors fine-tuned on VOC 2007
# trainval from these ImageNet-trained nets (VGG-16's figure is Fast R-CNN's own).
TABLE8_MAP = {"VGG-16": 66.9, "A+ReLU": 67.6, "A+PReLU": 68.4, "C+PReLU": 69.2}

"""Layers of the paper: PReLU (Sec. 2.1), spatial pyramid pooling and RoI pooling."""

from keras_prelu.layers.prelu import PReLU
from keras_prelu.layers.roi_pooling import RoIPooling
from keras_prelu.layers.spatial_pyramid_pooling import SpatialPyramidPooling

__all__ = ["PReLU", "RoIPooling", "SpatialPyramidPooling"]

"""Pretrained image classification architectures with Keras's layer names, so Keras's published
ImageNet weights load as is (``weights="imagenet"``)."""

from lamina.applications import imagenet_utils, mobilenet_v2, resnet, resnet50, resnet_v2, vgg16, vgg19
from lamina.applications.mobilenet_v2 import MobileNetV2
from lamina.applications.resnet import ResNet50, ResNet101, ResNet152
from lamina.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from lamina.applications.vgg16 import VGG16
from lamina.applications.vgg19 import VGG19

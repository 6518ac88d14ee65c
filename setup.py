from setuptools import find_packages, setup

setup(
    name="keras-prelu",
    version="0.1.0",
    description=(
        'Keras 3 model zoo for "Delving Deep into Rectifiers" (He et al., ICCV 2015): '
        "PReLU, He initialisation, spatial pyramid pooling and the paper's networks."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["keras_prelu", "keras_prelu.*"]),
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.3",
        "tensorflow-datasets",
        "tensorboard",
        # tensorflow-datasets 4.9.10 imports it but does not declare it (tensorflow/datasets#11212).
        "importlib_resources",
        "numpy",
    ],
    extras_require={
        "test": [
            "pytest",
            "pytest-timeout",
            "scikit-learn",
            "scikit-image",
            "pillow",
            "ruff",
            "jax[cpu]",
            # Keras's torch backend; CI installs the CPU build pinned in constraints.txt.
            "torch>=2.1",
        ],
        # Selective search (OpenCV), and the photographs and image writing of the
        # semi-synthetic detection set (scikit-image, scikit-learn, Pillow).
        "detection": ["opencv-contrib-python-headless", "scikit-image", "scikit-learn", "pillow"],
        "plots": ["matplotlib"],
        "tuning": ["keras-tuner"],
    },
)

"""The errors raised by `keras_prelu.data`: one per kind of problem, each naming what to do."""


class DataFormatError(ValueError):
    """A data file exists but its contents are malformed (truncated, corrupt or wrong type)."""


class CorruptImageError(DataFormatError):
    """Image files that TensorFlow cannot decode were found while indexing a dataset."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not available locally; the message says where to put it or how to get it."""

import numpy as np
import pytest
import tensorflow as tf

from keras_prelu.data import (
    augment,
    image_folder,
    load_digits,
    make_array_dataset,
    make_image_dataset,
    mean_image,
)

from .imaging import encode


@pytest.fixture(scope="module")
def digits():
    return load_digits()[0]


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory, photos):
    """Eight real photos in two classes: four crops of the cat, four of the coffee cup."""
    root = tmp_path_factory.mktemp("folder")
    for cls, photo in (("cat", photos["chelsea"]), ("coffee", photos["coffee"])):
        (root / cls).mkdir()
        for i in range(4):
            crop = photo[i * 10 :, i * 20 :]
            (root / cls / f"{i}.jpg").write_bytes(encode(crop, quality=90))
    return image_folder(root, cache_dir=root / ".cache")


def collect(ds):
    batches = list(ds)
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def test_array_eval_keeps_order_and_subtracts_the_mean(digits):
    x, y = digits
    mean = mean_image(x)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), atol=1e-4)
    ds = make_array_dataset(x, y, 100, training=False, mean=mean)
    images, labels = collect(ds)
    assert [len(b) for b, _ in ds] == [100] * 14 + [37]
    assert images.dtype == np.float32 and labels.dtype == np.int32
    np.testing.assert_allclose(images, x - mean, atol=1e-4)
    np.testing.assert_array_equal(labels, y)


def test_array_training_shuffles_augments_and_drops_the_partial_batch(digits):
    x, y = digits
    ds = make_array_dataset(x, np.arange(len(x)), 100, training=True, mean=0.0, seed=5)
    images, ids = collect(ds)
    assert images.shape == (1400, 8, 8, 1)
    assert len(set(ids)) == 1400 and not (np.diff(ids) > 0).all()
    assert np.array_equal(images, np.round(images)) and images.min() >= 0
    assert (images != x[ids]).any(axis=(1, 2, 3)).mean() > 0.5  # most images moved


def test_the_order_is_a_function_of_seed_and_epoch(digits):
    x, y = digits

    def epoch(seed, number):
        return collect(make_array_dataset(x, y, 64, training=True, mean=0.0, seed=seed,
                                          epoch=number))[0]

    first = epoch(1, 0)
    np.testing.assert_array_equal(first, epoch(1, 0))  # e.g. after a restart
    assert not np.array_equal(first, epoch(1, 1))
    assert not np.array_equal(first, epoch(2, 0))


@pytest.mark.parametrize("pipelines, replicas", [(2, 2), (1, 2), (4, 4)])
def test_global_batches_do_not_depend_on_how_they_are_shared_out(digits, pipelines, replicas):
    """A global batch holds the same examples, augmented alike, on one device, on several
    replicas of one pipeline (MirroredStrategy) or on several pipelines (workers)."""
    x, y = digits
    ids = np.arange(len(x))
    single = make_array_dataset(x, ids, 64, training=True, mean=0.0, seed=3, epoch=2)
    want = [(images.numpy(), labels.numpy()) for images, labels in single.take(5)]
    shares = []
    for pipeline in range(pipelines):
        context = tf.distribute.InputContext(pipelines, pipeline, num_replicas_in_sync=replicas)
        ds = make_array_dataset(x, ids, 64, training=True, mean=0.0, seed=3, epoch=2,
                                input_context=context)
        shares.append(list(ds.take(5 * replicas // pipelines)))
    for step, (images, labels) in enumerate(want):
        per_step = replicas // pipelines  # consecutive batches of a pipeline go to its replicas
        parts = [b for share in shares for b in share[step * per_step:(step + 1) * per_step]]
        got_labels = np.concatenate([p[1].numpy() for p in parts])
        got_images = np.concatenate([p[0].numpy() for p in parts])
        order = np.argsort(got_labels)
        np.testing.assert_array_equal(got_labels[order], np.sort(labels))
        np.testing.assert_array_equal(got_images[order], images[np.argsort(labels)])


def test_sharded_input_pipelines_split_the_data(digits):
    x, _ = digits
    ids = np.arange(len(x))
    shards = []
    for i in range(2):
        context = tf.distribute.InputContext(2, i, num_replicas_in_sync=4)
        ds = make_array_dataset(x, ids, 64, training=False, mean=0.0, input_context=context)
        assert next(iter(ds))[0].shape[0] == 16  # per-replica batch
        shards.append(collect(ds)[1])
    assert not set(shards[0]) & set(shards[1])
    np.testing.assert_array_equal(np.sort(np.concatenate(shards)), ids)


def test_distribute_datasets_from_function(digits):
    x, y = digits
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    dist = strategy.distribute_datasets_from_function(
        lambda context: make_array_dataset(
            x, y, 32, training=True, mean=0.0, seed=0, input_context=context
        )
    )
    images, labels = next(iter(dist))
    assert images.shape == (32, 8, 8, 1) and labels.shape == (32,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(images=np.zeros((4, 8, 8), np.uint8)),
            r"uint8 array of shape \(N, H, W, C\), got uint8 \(4, 8, 8\)",
        ),
        (dict(images=np.zeros((4, 8, 8, 1))), r"got float64 \(4, 8, 8, 1\)"),
        (
            dict(labels=np.zeros(3)),
            r"labels must have shape \(4,\) to match the images, got \(3,\)",
        ),
        (
            dict(mean=np.zeros((7, 7, 1))),
            r"mean of shape \(7, 7, 1\) does not broadcast to .* \(8, 8, 1\)",
        ),
    ],
)
def test_array_dataset_rejects_bad_inputs(kwargs, message):
    args = dict(images=np.zeros((4, 8, 8, 1), np.uint8), labels=np.zeros(4), mean=0.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        make_array_dataset(args.pop("images"), args.pop("labels"), 2, training=True, **args)


def test_image_modes(small_folder):
    mean = np.array(augment.IMAGENET_RGB_MEAN, np.float32)
    images, labels = collect(make_image_dataset(small_folder, 3, mode="center", mean=mean))
    assert images.shape == (8, 224, 224, 3) and images.dtype == np.float32
    np.testing.assert_array_equal(labels, small_folder.labels)
    first = tf.io.read_file(small_folder.paths[0])
    np.testing.assert_allclose(images[0], augment.center_crop(first) - mean, atol=1e-3)

    train = list(make_image_dataset(small_folder, 3, mode="train", mean=mean, scale=(224, 300)))
    assert [x.shape for x, _ in train] == [(3, 224, 224, 3)] * 2

    full = list(make_image_dataset(small_folder, 1, mode="full", mean=mean, scale=128))
    assert len(full) == 8
    assert all(min(x.shape[1:3]) == 128 and x.shape[0] == 1 for x, _ in full)
    assert full[0][0].shape == (1, 128, 192, 3)  # 290 x 431 crop of the cat


def test_image_source_shards(small_folder):
    whole, _ = collect(make_image_dataset(small_folder, 8, mode="center", mean=0.0))
    shards = []
    for i in range(2):
        context = tf.distribute.InputContext(2, i, num_replicas_in_sync=2)
        ds = make_image_dataset(small_folder, 8, mode="center", mean=0.0, input_context=context)
        images, _ = collect(ds)
        assert len(images) == 4
        shards.append(images)
    # Disjoint and complete: the same 8 images (compared by their mean values).
    np.testing.assert_allclose(
        np.sort(np.concatenate(shards).mean(axis=(1, 2, 3))), np.sort(whole.mean(axis=(1, 2, 3)))
    )


def test_image_training_is_deterministic_with_a_seed(small_folder):
    def run(seed):
        return collect(make_image_dataset(small_folder, 4, mode="train", mean=0.0, seed=seed))

    (a, ya), (b, yb), (c, _) = run(3), run(3), run(4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)


def test_mean_image_of_an_image_source(small_folder):
    mean = mean_image(small_folder, max_images=5)
    views = [augment.center_crop(tf.io.read_file(p)).numpy() for p in small_folder.paths[:5]]
    assert mean.shape == (224, 224, 3) and mean.dtype == np.float32
    np.testing.assert_allclose(mean, np.mean(views, axis=0), atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(mode="test"), r"mode must be one of \('train', 'center', 'full'\), got 'test'"),
        (dict(mode="train", scale=(200, 512)), r"crop_size=224 <= smin <= smax, got \(200, 512\)"),
        (dict(mode="train", scale=(512, 256)), r"smin <= smax, got \(512, 256\)"),
        (dict(mode="center", scale=128), r"mode='center' needs an integer scale >= 224, got 128"),
        (dict(mode="full", scale=2.5), r"mode='full' needs an integer scale >= 1, got 2.5"),
        (dict(mode="center", mean=np.zeros((256, 256, 3))), r"\(256, 256, 3\) does not broadcast"),
        (dict(mode="full", mean=np.zeros((224, 224, 3))), r"pass a per-channel vector"),
        (dict(mode="full", batch=2), r"per-replica batch size must be 1, got 2"),
    ],
)
def test_image_dataset_rejects_bad_arguments(small_folder, kwargs, message):
    args = {"mean": 0.0, **kwargs}
    batch = args.pop("batch", 1)
    with pytest.raises(ValueError, match=message):
        make_image_dataset(small_folder, batch, **args)

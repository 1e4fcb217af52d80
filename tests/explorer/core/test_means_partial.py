"""A stopped encoding resumes where it stopped (explorer/core/means_partial.py), through open_session.

Real checkpoints and a real npz dataset; the model's encode calls are counted by the ``encodes`` fixture of
test_means_cache.py, so "resumed" means the done rows were never encoded again."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from test_means_cache import _direct_means

from explorer.core.means_cache import MeansCache
from explorer.core.means_partial import PartialMeans
from explorer.core.session import CHECK_IMAGES, Cancelled, open_session

N = 60
BATCH = 10


def _open(model, data, cache, **kw):
    return open_session(model, dataset=f"npz:{data}", split="all", cache=cache, batch_size=BATCH, **kw)


def _cancel_after(rows: int):
    """A cancel event and a progress callback that sets it once ``rows`` rows are encoded."""
    cancel = threading.Event()

    def progress(stage, done, total):
        if stage == "encoding" and done >= rows:
            cancel.set()

    return cancel, progress


def test_a_cancelled_encoding_resumes_where_it_stopped(tmp_path, save_checkpoint, npz_data, encodes):
    model, cache = save_checkpoint(), MeansCache(tmp_path / "means")
    cancel, progress = _cancel_after(30)
    with pytest.raises(Cancelled):
        _open(model, npz_data, cache, cancel=cancel, progress=progress)
    assert sum(encodes) == 30
    partial = list(cache.folder.glob("*.partial.npy"))
    assert len(partial) == 1 and not list(cache.folder.glob("*[0-9a-f].npy"))  # no finished means yet
    assert json.loads(partial[0].with_suffix(".json").read_text())["done"] == 30
    encodes.clear()
    s = _open(model, npz_data, cache)
    assert sum(encodes) == CHECK_IMAGES + (N - 30)  # the check of the done rows, then only the rest
    np.testing.assert_allclose(s.means, _direct_means(model, npz_data), atol=1e-5)
    assert not list(cache.folder.glob("*.partial.*")) and cache.writes == 1  # renamed into the cache
    encodes.clear()
    again = _open(model, npz_data, cache)
    assert encodes == [CHECK_IMAGES] and again.means_cached
    np.testing.assert_array_equal(again.means, s.means)


def test_done_rows_another_model_wrote_are_encoded_again(tmp_path, save_checkpoint, npz_data, encodes):
    model, cache = save_checkpoint(), MeansCache(tmp_path / "means")
    cancel, progress = _cancel_after(40)
    with pytest.raises(Cancelled):
        _open(model, npz_data, cache, cancel=cancel, progress=progress)
    (partial,) = cache.folder.glob("*.partial.npy")
    rows = np.load(partial, mmap_mode="r+")
    rows[:40] += 0.5  # right shape and range, wrong values: what a bug or another writer would leave
    rows.flush()
    del rows
    encodes.clear()
    s = _open(model, npz_data, cache)
    assert sum(encodes) == CHECK_IMAGES + N  # the check failed: every row encoded again
    np.testing.assert_allclose(s.means, _direct_means(model, npz_data), atol=1e-5)


@pytest.mark.parametrize("damage", ["count beyond the rows", "bad json", "wrong shape", "nan rows"])
def test_a_damaged_partial_file_starts_again(tmp_path, damage):
    cache = MeansCache(tmp_path / "means")
    part = PartialMeans.open(cache, "k", 100, 2)
    part.array[:50] = 1.0
    part.advance(50)
    part.commit()
    count = part.path.with_suffix(".json")
    if damage == "count beyond the rows":
        count.write_text(json.dumps({"done": 101, "shape": [100, 2]}))
    elif damage == "bad json":
        count.write_text("{not json")
    elif damage == "wrong shape":
        count.write_text(json.dumps({"done": 50, "shape": [100, 3]}))
    else:
        part.array[10] = np.nan
        part.array.flush()
    del part
    fresh = PartialMeans.open(cache, "k", 100, 2)
    assert fresh is not None and fresh.done == 0
    assert not count.exists()  # the stale count went before the rows were reset


def test_the_count_never_claims_rows_that_are_not_written(tmp_path):
    cache = MeansCache(tmp_path / "means")
    part = PartialMeans.open(cache, "k", 10, 2)
    part.array[:4] = 2.0
    part.advance(4)  # within COMMIT_SECONDS of opening: not written yet
    assert not part.count_path.exists()
    part.commit()
    resumed = PartialMeans.open(cache, "k", 10, 2)
    assert resumed.done == 4 and np.all(resumed.array[:4] == 2.0)


def test_a_cache_folder_that_cannot_be_made_encodes_in_memory(tmp_path, save_checkpoint, npz_data, encodes):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # works as root too, unlike a read-only folder
    cache = MeansCache(blocker / "means")
    assert PartialMeans.open(cache, "probe", 1, 2) is None
    s = _open(save_checkpoint(), npz_data, cache)
    assert sum(encodes) == N and s.means.shape == (N, 2) and cache.writes == 0


def test_the_bulk_lane_job_resumes_after_it_was_closed(tmp_path, save_checkpoint, npz_data, encodes):
    # the compare / snapshot path: explorer.core.means_job on the model service's bulk lane, whose
    # Channel.cancel closes the generator between two batches
    from explorer.core.means_job import means_job, run_to_end

    model, cache = save_checkpoint(), MeansCache(tmp_path / "means")
    s = _open(model, npz_data, cache, encode=False)
    job = means_job(s, cache, batch_size=BATCH)
    for _ in range(2):
        next(job)  # two batches encoded
    job.close()
    assert sum(encodes) == 2 * BATCH and s.means is None
    encodes.clear()
    s2 = _open(model, npz_data, cache, encode=False)
    run_to_end(means_job(s2, cache, batch_size=BATCH))
    assert sum(encodes) == CHECK_IMAGES + N - 2 * BATCH
    np.testing.assert_allclose(s2.means, _direct_means(model, npz_data), atol=1e-5)
    assert not list(cache.folder.glob("*.partial.*"))

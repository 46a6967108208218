"""Shares of a batch for several threads: every image once, in order within a share; BLAS on one
thread while they run; the threaded layers give the serial results."""

import numpy as np
import pytest
import threadpoolctl

from cifar_lessons.from_scratch import fast_layers, layers, threads


@pytest.mark.parametrize(
    ("num_images", "chunk_size", "count", "expected"),
    [
        (7, 2, 3, [[(0, 2), (6, 7)], [(2, 4)], [(4, 6)]]),
        (5, None, 2, [[(0, 3)], [(3, 5)]]),  # one equal part for each thread
        (2, 4, 3, [[(0, 2)]]),  # fewer chunks than threads: fewer shares
        (0, None, 2, [[]]),
    ],
)
def test_chunks_are_dealt_out_in_turn(num_images, chunk_size, count, expected):
    assert threads.shares(num_images, chunk_size, count) == expected


def test_each_share_runs_on_its_own_thread_with_blas_held_to_one():
    seen = []

    def task(share):
        blas = threads._controller().select(user_api="blas").info()
        seen.append([info["num_threads"] for info in blas])
        return sum(stop - start for start, stop in share)

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        assert threads.run(task, threads.shares(10, 3, 2)) == [6, 4]  # in share order
        assert all(counts == [1] for counts in seen)
        assert threads.count() == 2  # the limit is back once the shares are done


def test_threaded_max_pool_gives_the_serial_result(monkeypatch):
    x = np.random.default_rng(0).standard_normal((7, 3, 8, 8))
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    expected, naive_cache = layers.max_pool_forward_naive(x, pool_param)
    dout = np.random.default_rng(1).standard_normal(expected.shape)
    monkeypatch.setattr(threads, "count", lambda: 3)
    out, cache = fast_layers.max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(
        fast_layers.max_pool_backward_fast(dout, cache), layers.max_pool_backward_naive(dout, naive_cache)
    )

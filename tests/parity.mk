# PyTorch parity fixtures and tests (Python, run by $(REF_PYTHON) = /usr/bin/python3).
# scripts/relab_torch.py: relab <-> PyTorch weight files; tests/parity/make_fixture.py:
# reference fixtures for the C parity tests (docs/parity.md), conditioned by
# tests/parity/conditioning.py; bench/pytorch_train_step.py:
# PyTorch's half of the train-step benchmark.
dist_noinst_SCRIPTS += scripts/relab_torch.py tests/parity/make_fixture.py tests/parity/check_params.py \
	bench/pytorch_train_step.py
TESTS += tests/parity/check_params.py tests/parity/test_fixture_roundtrip.py tests/parity/test_make_fixture.py \
	tests/parity/test_bench_pytorch.py
EXTRA_DIST += tests/parity/conditioning.py tests/parity/test_fixture_roundtrip.py tests/parity/test_make_fixture.py tests/parity/test_bench_pytorch.py docs/parity.md docs/weights.md

# PyTorch parity fixtures and tests

# tests/cluster.mk: the launch scripts in recipes/cluster/ (docs/cluster.md).
# test_slurm.sh runs slurm.sbatch on a single-node Slurm cluster it starts
# itself (root, slurm-wlm and munge; SKIPs otherwise).
TESTS += tests/test_slurm.sh
EXTRA_DIST += tests/test_slurm.sh

# The Slurm scale-out test (issue 17) starts a private single-node cluster from the Debian
# packages (tests/slurm/cluster). Label "slurm", so that CI can install the packages and run
# it alone (ctest -L slurm); exit 77 means skipped (not root, packages missing), with the
# reason in its output. It waits for jobs: a long timeout guards against a hang only.
set_tests_properties(test_slurm_cluster PROPERTIES LABELS slurm SKIP_RETURN_CODE 77 TIMEOUT 900)

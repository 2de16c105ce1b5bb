"""fuzzctl_lib -- the package behind tools/fuzzctl (stdlib only)."""

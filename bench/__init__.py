"""frontdesk's benchmarks: each figure printed beside a reference from the same run."""

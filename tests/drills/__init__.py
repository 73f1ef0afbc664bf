"""Fault drills: crashes, provider faults, concurrent writers, bad input."""

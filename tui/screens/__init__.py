"""The front desk's screens and the dialogs they open."""

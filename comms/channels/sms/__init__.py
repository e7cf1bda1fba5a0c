"""SMS channel: encoding, segmentation and concatenation helpers (see `encoding`)."""

"""APN device access: RADIUS for the carrier's gateway, a device registry, the device API."""

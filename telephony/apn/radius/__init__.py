"""The RADIUS service (`huitong radius`): authentication (RFC 2865) and accounting (RFC 2866)
for devices on tenants' private APNs, answered from an in-process directory."""

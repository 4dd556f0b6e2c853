"""The app's own ground: settings and TENANTS, the error classes, the function descriptors and
their discovery, the version."""

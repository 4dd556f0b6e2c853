"""Code the collectors share. Kept import-light: every function imports this at worker start."""

"""The page shell: templates, components, static assets, translations, request plumbing."""

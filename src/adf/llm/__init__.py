"""Model calls: the catalogue of model facts, requests, the litellm client, its cache and call traces."""

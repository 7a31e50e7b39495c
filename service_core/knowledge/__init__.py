"""The knowledge base: articles on how a problem was fixed, found by text, model, fault code and failure mode."""

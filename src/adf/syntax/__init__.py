"""The source text: grammar, parser, AST classes and the formatter."""

"""The adf language server (`adfc lsp`) and the pure editor features it serves."""

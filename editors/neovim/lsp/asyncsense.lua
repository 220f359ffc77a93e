-- asyncsense language server config in the nvim-lspconfig `lsp/` shape (Neovim 0.11+).
-- Put the folder that contains this `lsp/` directory on 'runtimepath', then:
--   vim.lsp.enable('asyncsense')
---@type vim.lsp.Config
return {
  cmd = { 'asyncsense', 'server' },
  filetypes = { 'python', 'rust' },
  root_markers = { 'pyproject.toml', 'asyncsense.toml', 'setup.py', 'Cargo.toml', '.git' },
}

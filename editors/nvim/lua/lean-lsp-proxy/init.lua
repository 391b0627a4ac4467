-- lean-lsp-proxy for Neovim: puts the proxy in front of Lean's server (standalone or by wrapping lspconfig / lean.nvim's leanls).
local compat = require('lean-lsp-proxy.compat')

local M = {}

local defaults = {
  -- The proxy executable and options placed before its `--`.
  proxy = 'lean-lsp-proxy',
  proxy_args = {},
  -- The server behind the proxy, as lspconfig / lean.nvim run it.
  server_cmd = function(root)
    return { 'lake', 'serve', '--', root }
  end,
  -- A full command instead (a list, or function(root) -> list); overrides the two above.
  cmd = nil,
  root_markers = { 'lakefile.toml', 'lakefile.lean', 'lean-toolchain' },
  -- 'auto': wrap leanls when nvim-lspconfig or lean.nvim is installed, else start
  -- clients ourselves; 'standalone'; 'wrap'.
  mode = 'auto',
  -- Passed to the client when standalone (as lspconfig's leanls defaults).
  init_options = { editDelay = 10, hasWidgets = true },
  capabilities = nil,
  on_attach = nil,
  handlers = nil,
}

M.config = vim.deepcopy(defaults)
-- Client ids of standalone clients by root, for Neovim 0.7 (no vim.lsp.start).
local clients_by_root = {}
-- lspconfig's on_setup hook is installed once, whatever setup() is called with later.
local hooked = false

--- The full command for a workspace root: proxy, its options, `--`, the server.
function M.command_for(root)
  local c = M.config
  if type(c.cmd) == 'function' then
    return c.cmd(root)
  elseif type(c.cmd) == 'table' then
    return c.cmd
  end
  local cmd = { c.proxy }
  vim.list_extend(cmd, c.proxy_args)
  table.insert(cmd, '--')
  vim.list_extend(cmd, c.server_cmd(root))
  return cmd
end

--- `cmd` with the proxy in front, unless it is there already (setup run twice).
function M.wrap_cmd(cmd)
  if type(cmd) ~= 'table' or #cmd == 0 then
    return cmd
  end
  if vim.fn.fnamemodify(cmd[1], ':t') == vim.fn.fnamemodify(M.config.proxy, ':t') then
    return cmd
  end
  local wrapped = { M.config.proxy }
  vim.list_extend(wrapped, M.config.proxy_args)
  table.insert(wrapped, '--')
  vim.list_extend(wrapped, cmd)
  return wrapped
end

local function root_for(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' then
    return nil
  end
  return compat.find_root(name, M.config.root_markers) or vim.fn.fnamemodify(name, ':p:h')
end

--- Starts or reuses the client for a lean buffer (standalone mode).
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local root = root_for(bufnr)
  if not root then
    return nil
  end
  local c = M.config
  return compat.start({
    name = 'lean-lsp-proxy',
    cmd = M.command_for(root),
    -- Lean ignores rootUri: the server's working directory is the workspace.
    cmd_cwd = root,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    init_options = c.init_options,
    capabilities = c.capabilities or vim.lsp.protocol.make_client_capabilities(),
    on_attach = c.on_attach,
    handlers = c.handlers,
    on_exit = function()
      clients_by_root[root] = nil
    end,
  }, bufnr, clients_by_root)
end

-- Wrap lspconfig's leanls (which lean.nvim also uses): its cmd is a list on
-- older lspconfig, a function on newer; either way the proxy goes in front.
local function wrap_leanls()
  local wrapped = false
  if vim.lsp.config and vim.lsp.enable then -- 0.11+: lsp/leanls.lua configs
    vim.lsp.config('leanls', {
      cmd = function(dispatchers, config)
        local root = config.root_dir or vim.fn.getcwd()
        return vim.lsp.rpc.start(M.command_for(root), dispatchers, {
          cwd = config.cmd_cwd or root,
          env = config.cmd_env,
          detached = config.detached,
        })
      end,
    })
    wrapped = true
  end
  local ok, util = pcall(require, 'lspconfig.util')
  if ok and util.add_hook_before and hooked then
    wrapped = true
  elseif ok and util.add_hook_before then
    hooked = true
    util.on_setup = util.add_hook_before(util.on_setup, function(config)
      if config.name ~= 'leanls' then
        return
      end
      config.on_new_config = util.add_hook_after(config.on_new_config, function(new_config, root)
        -- Per root: the command may end with the root (lake serve -- ROOT).
        if type(new_config.cmd) == 'table' then
          new_config.cmd = M.wrap_cmd(new_config.cmd)
        else
          new_config.cmd = M.command_for(root)
        end
        new_config.cmd_cwd = new_config.cmd_cwd or root
      end)
    end)
    wrapped = true
  end
  return wrapped
end

local function integration_present()
  return pcall(require, 'lspconfig') or pcall(require, 'lean')
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  -- Lists replace, never merge index by index.
  for _, k in ipairs({ 'proxy_args', 'root_markers' }) do
    if opts and opts[k] then
      M.config[k] = opts[k]
    end
  end
  require('lean-lsp-proxy.commands').define()
  compat.set_filetype_for_lean()

  local mode = M.config.mode
  if mode == 'auto' then
    mode = integration_present() and 'wrap' or 'standalone'
  end
  M.mode = mode
  if mode == 'wrap' then
    if not wrap_leanls() then
      compat.notify('nvim-lspconfig not found; starting clients directly', vim.log.levels.WARN)
      mode = 'standalone'
      M.mode = mode
    end
  end
  if mode == 'standalone' then
    local group = vim.api.nvim_create_augroup('lean_lsp_proxy', { clear = true })
    vim.api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = 'lean',
      callback = function(args)
        M.attach(args.buf)
      end,
    })
  end
end

return M

-- Headless Neovim test of editors/nvim wrapping lspconfig's leanls (a stub lspconfig.util with its hook helpers).
local function log(msg)
  io.stderr:write('[nvim.wrap] ' .. msg .. '\n')
end

local function run()
  vim.opt.runtimepath:prepend(assert(os.getenv('LLP_PLUGIN_DIR')))
  -- lspconfig.util's hook helpers, as lspconfig defines them.
  local util = {}
  function util.add_hook_before(fn, new)
    if fn then
      return function(...) new(...); return fn(...) end
    end
    return new
  end
  function util.add_hook_after(fn, new)
    if fn then
      return function(...) fn(...); return new(...) end
    end
    return new
  end
  package.loaded['lspconfig.util'] = util
  package.loaded['lspconfig'] = { util = util }

  local plugin = require('lean-lsp-proxy')
  plugin.setup({ proxy = '/opt/llp/lean-lsp-proxy', proxy_args = { '--log-level', 'warn' } })
  assert(plugin.mode == 'wrap', 'auto mode wraps when lspconfig is present, got ' .. tostring(plugin.mode))
  plugin.setup({ proxy = '/opt/llp/lean-lsp-proxy', proxy_args = { '--log-level', 'warn' } })  -- twice: still one wrap

  -- Older lspconfig: a list cmd that on_new_config completes with the root.
  local config = {
    name = 'leanls',
    cmd = { 'lake', 'serve', '--' },
    on_new_config = function(c, root) c.cmd = { 'lake', 'serve', '--', root } end,
  }
  util.on_setup(config)
  local new_config = { cmd = config.cmd }
  config.on_new_config(new_config, '/w')
  assert(vim.deep_equal(new_config.cmd, { '/opt/llp/lean-lsp-proxy', '--log-level', 'warn', '--', 'lake', 'serve', '--', '/w' }),
    vim.inspect(new_config.cmd))
  assert(new_config.cmd_cwd == '/w')

  -- A function cmd (newer lspconfig): replaced by the proxy's command for the root.
  local fconfig = { name = 'leanls', cmd = function() end }
  util.on_setup(fconfig)
  local fnew = { cmd = fconfig.cmd }
  fconfig.on_new_config(fnew, '/v')
  assert(vim.deep_equal(fnew.cmd, { '/opt/llp/lean-lsp-proxy', '--log-level', 'warn', '--', 'lake', 'serve', '--', '/v' }))

  -- Other servers are left alone.
  local other = { name = 'clangd', cmd = { 'clangd' } }
  util.on_setup(other)
  assert(other.on_new_config == nil and other.cmd[1] == 'clangd')

  -- Already wrapped commands are not wrapped twice.
  assert(#plugin.wrap_cmd({ '/usr/bin/lean-lsp-proxy', '--', 'lake', 'serve' }) == 4)
end

local ok, err = xpcall(run, debug.traceback)
if ok then
  log('PASS')
  vim.cmd('qall!')
else
  log('FAILED: ' .. tostring(err))
  vim.cmd('cquit 1')
end

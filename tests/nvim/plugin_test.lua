-- Headless Neovim test of editors/nvim: diagnostics through the proxy from the simulator, a cache hit on reopen, the :LeanProxy* commands.
-- Run: LLP_PROXY=… LLP_SIM_BIN=… LLP_PLUGIN_DIR=… nvim --headless -u NONE -c 'luafile tests/nvim/plugin_test.lua'
local env = function(k)
  local v = os.getenv(k)
  assert(v and v ~= '', k .. ' must be set')
  return v
end
local uv = vim.uv or vim.loop

local function log(msg)
  io.stderr:write('[nvim.plugin] ' .. msg .. '\n')
end

local function wait_for(what, ms, cond)
  if not vim.wait(ms, cond, 50) then
    error('timed out waiting for ' .. what, 2)
  end
end

local function write(path, text)
  vim.fn.mkdir(vim.fn.fnamemodify(path, ':h'), 'p')
  local f = assert(io.open(path, 'w'))
  f:write(text)
  f:close()
end

-- Notifications are captured so the test can assert on what the user is told.
local notes = {}
vim.notify = function(msg)
  table.insert(notes, msg)
  log('notify: ' .. msg)
end
local function noted(pattern)
  for _, n in ipairs(notes) do
    if n:find(pattern) then
      return true
    end
  end
  return false
end

local tmp = vim.fn.tempname()
local ws = tmp .. '/ws'
local function run()
  local proxy, sim_bin = env('LLP_PROXY'), env('LLP_SIM_BIN')
  vim.opt.runtimepath:prepend(env('LLP_PLUGIN_DIR'))
  -- The simulator's lake / lean are what `lake serve` resolves to.
  vim.env.PATH = sim_bin .. ':' .. vim.env.PATH

  write(ws .. '/lakefile.toml', 'name = "demo"\n')
  write(ws .. '/lean-toolchain', 'leanprover/lean4:v4.28.0\n')
  write(ws .. '/Demo/A.lean', 'def a : Nat := 2\n')
  write(ws .. '/Demo/B.lean', 'import Demo.A\ndef b : Nat := a + 1\n#check bb\n')
  local out = vim.fn.system('cd ' .. vim.fn.shellescape(ws) .. ' && lake build Demo.A 2>&1')
  assert(vim.v.shell_error == 0, 'lake build failed: ' .. out)

  local plugin = require('lean-lsp-proxy')
  plugin.setup({
    mode = 'standalone',
    proxy = proxy,
    -- In-process proxy with a private cache: nothing outlives the test.
    proxy_args = { '--no-daemon', '--cache-dir', tmp .. '/cache', '--log-file', tmp .. '/proxy.log' },
  })
  local commands = require('lean-lsp-proxy.commands')
  assert(vim.deep_equal(plugin.command_for(ws),
    { proxy, '--no-daemon', '--cache-dir', tmp .. '/cache', '--log-file', tmp .. '/proxy.log', '--', 'lake', 'serve', '--', ws }))

  local function stats()
    local got
    commands.execute('leanProxy.stats', {}, function(r) got = r end)
    wait_for('leanProxy.stats', 10000, function() return got ~= nil end)
    return got
  end

  local function open_and_check(label)
    vim.cmd('edit ' .. vim.fn.fnameescape(ws .. '/Demo/B.lean'))
    local buf = vim.api.nvim_get_current_buf()
    assert(vim.bo[buf].filetype == 'lean', 'filetype is ' .. vim.bo[buf].filetype)
    wait_for(label .. ': diagnostics', 30000, function()
      for _, d in ipairs(vim.diagnostic.get(buf)) do
        if d.message == "unknown identifier 'bb'" then
          return true
        end
      end
      return false
    end)
    log(label .. ': diagnostics arrived')
    return buf
  end

  -- 1. First open: elaborated by the simulator, then stored by the proxy.
  open_and_check('first open')
  local client = commands.client()
  assert(client and client.name == 'lean-lsp-proxy', 'client attached')
  wait_for('a stored result', 20000, function() return stats().cache.stores >= 1 end)

  -- 2. Reopen (didClose + didOpen of the same text): answered from the cache.
  vim.cmd('bwipeout!')
  open_and_check('reopen')
  local function stats_float_hits()
    vim.cmd('LeanProxyStats')
    local hits
    wait_for(':LeanProxyStats float', 10000, function()
      local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
      hits = tonumber(text:match('Cache hits%s+(%d+)'))
      return hits ~= nil
    end)
    assert(vim.api.nvim_win_get_config(0).relative ~= '', 'stats shown in a floating window')
    log(':LeanProxyStats shows ' .. hits .. ' hit(s)')
    vim.cmd('close')
    return hits
  end
  assert(stats_float_hits() >= 1, 'a cache hit after reopening')

  -- 3. Restart the client (a new in-process proxy): the cache on disk still answers.
  local old = commands.client()
  require('lean-lsp-proxy.compat').stop(old)
  wait_for('client stop', 10000, function() return vim.lsp.get_client_by_id(old.id) == nil end)
  vim.cmd('bwipeout!')
  open_and_check('after restart')
  assert(commands.client().id ~= old.id, 'a new client')
  assert(stats_float_hits() >= 1, 'a cache hit in the new proxy')

  -- 4. The other commands.
  vim.cmd('LeanProxyCacheToggle off')
  wait_for('cache disabled', 10000, function() return noted('cache disabled') end)
  assert(stats().cache.enabled == false)
  vim.cmd('LeanProxyCacheToggle')
  wait_for('cache enabled', 10000, function() return noted('cache enabled') end)
  vim.cmd('LeanProxyExplain')
  wait_for(':LeanProxyExplain float', 10000, function() return vim.api.nvim_win_get_config(0).relative ~= '' end)
  vim.cmd('close')
  vim.cmd('LeanProxyOptimize')
  -- The test workspace has a file with errors on purpose: its build fails, and says so.
  wait_for(':LeanProxyOptimize answer', 10000, function()
    return noted('environment optimization failed') or noted('environment optimized')
  end)
  vim.cmd('LeanProxyCacheClear')
  wait_for('cache cleared', 10000, function() return noted('cache cleared') end)
end

local ok, err = xpcall(run, debug.traceback)
-- Stop every client (the proxy then ends its server tree) before leaving.
local compat = require('lean-lsp-proxy.compat')
for _, c in ipairs(compat.get_clients()) do
  compat.stop(c)
end
vim.wait(10000, function() return #compat.get_clients() == 0 end, 50)
if not ok then
  log('FAILED: ' .. tostring(err))
  local f = io.open(tmp .. '/proxy.log')
  if f then
    log('proxy log:\n' .. f:read('*a'))
    f:close()
  end
end
vim.fn.delete(tmp, 'rf')
if ok then
  log('PASS')
  vim.cmd('qall!')
else
  vim.cmd('cquit 1')
end

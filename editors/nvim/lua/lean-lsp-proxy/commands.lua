-- :LeanProxy* commands: leanProxy.* workspace/executeCommand requests on the running client, results in a float.
local compat = require('lean-lsp-proxy.compat')

local M = {}

local client_names = { ['lean-lsp-proxy'] = true, leanls = true }

--- The proxy's client for `bufnr` (else any running one): ours or a wrapped leanls.
function M.client(bufnr)
  for _, scope in ipairs({ bufnr or vim.api.nvim_get_current_buf(), false }) do
    for _, c in ipairs(compat.get_clients(scope or nil)) do
      if client_names[c.name] and not compat.is_stopped(c) then
        return c
      end
    end
  end
  return nil
end

--- Sends leanProxy.`command`; `on_result(result)` on success, errors are shown.
--- Returns false when there is no client.
function M.execute(command, arguments, on_result, on_error)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  if not client then
    compat.notify('no Lean client is running (open a .lean file first)', vim.log.levels.WARN)
    return false
  end
  compat.request(client, 'workspace/executeCommand', { command = command, arguments = arguments or {} },
    function(err, result)
      if err then
        if on_error then
          on_error(err)
        else
          compat.notify(command .. ': ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
        end
        return
      end
      on_result(result)
    end, bufnr)
  return true
end

local function row(label, value)
  return label .. string.rep(' ', math.max(1, 42 - vim.fn.strdisplaywidth(label))) .. tostring(value)
end

local function num(t, k)
  local v = type(t) == 'table' and t[k] or nil
  return type(v) == 'number' and v or 0
end

--- The stats object as lines, in the layout of `lean-lsp-proxy stats`.
function M.format_stats(s)
  local c = type(s.cache) == 'table' and s.cache or {}
  local p = type(s.proxy) == 'table' and s.proxy or {}
  local lines = {
    row('Cache', c.enabled == false and 'disabled' or (c.mode or 'on')),
    row('Cache entries', string.format('%d (%.1f KiB)', num(c, 'entries'), num(c, 'bytes') / 1024)),
    row('Cache hits', num(c, 'hits')),
    row('  verified by the server', num(c, 'verified_hits')),
    row('  MISMATCHES (key missed a dependency)', num(c, 'mismatches')),
    row('Cache misses', num(c, 'misses')),
    row('Cache hit rate', string.format('%.2f %%', 100 * num(c, 'hit_rate'))),
    row('Results stored', num(c, 'stores')),
    row('Goal / hover answers from cache', num(c, 'answer_hits')),
    row('Elaboration time saved', string.format('%.1f s', num(c, 'elaboration_ms_saved') / 1000)),
    row('Lookup latency p50 / p99', string.format('%d / %d µs', num(c, 'lookup_p50_us'), num(c, 'lookup_p99_us'))),
    row('Evictions / expirations', num(c, 'evictions') .. ' / ' .. num(c, 'expirations')),
  }
  for _, m in ipairs({ 'uncacheable', 'skipped' }) do
    if type(c[m]) == 'table' then
      for reason, count in pairs(c[m]) do
        table.insert(lines, row((m == 'uncacheable' and 'Uncacheable: ' or 'Not stored: ') .. reason, count))
      end
    end
  end
  vim.list_extend(lines, {
    row('Sessions (active / total)', num(p, 'sessions') .. ' / ' .. num(p, 'sessions_total')),
    row('Messages client -> server', num(p, 'messages_from_client')),
    row('Messages server -> client', num(p, 'messages_from_server')),
    row('Server restarts', num(p, 'server_restarts')),
    row('Uptime', num(p, 'uptime_s') .. ' s'),
  })
  return lines
end

--- A read-only floating window; `q` or <Esc> closes it. Returns buffer, window.
function M.float(title, lines)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, 'modifiable', false)
  vim.api.nvim_buf_set_option(buf, 'bufhidden', 'wipe')
  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  width = math.min(width + 2, math.max(20, vim.o.columns - 4))
  local height = math.min(#lines, math.max(1, vim.o.lines - 6))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.floor((vim.o.lines - height) / 2) - 1,
    col = math.floor((vim.o.columns - width) / 2),
    style = 'minimal',
    border = 'rounded',
  })
  vim.b[buf].lean_proxy_title = title
  for _, key in ipairs({ 'q', '<Esc>' }) do
    vim.api.nvim_buf_set_keymap(buf, 'n', key, '<cmd>close<CR>', { nowait = true, noremap = true, silent = true })
  end
  return buf, win
end

function M.stats()
  return M.execute('leanProxy.stats', {}, function(result)
    M.float('lean-lsp-proxy stats', M.format_stats(result or {}))
  end)
end

function M.cache_clear()
  return M.execute('leanProxy.cache.clear', {}, function(result)
    compat.notify(string.format('cache cleared (%d entries)', num(result, 'cleared')))
  end)
end

--- `on`/`off` sets; no argument flips the current state (read from leanProxy.cache.stats).
function M.cache_toggle(arg)
  local function set(enabled)
    M.execute('leanProxy.cache.toggle', { { enabled = enabled } }, function(result)
      compat.notify('cache ' .. ((result and result.enabled) and 'enabled' or 'disabled'))
    end)
  end
  if arg == 'on' or arg == 'off' then
    set(arg == 'on')
    return true
  end
  return M.execute('leanProxy.cache.stats', {}, function(result)
    set(not (result and result.enabled))
  end)
end

function M.explain()
  local uri = vim.uri_from_bufnr(vim.api.nvim_get_current_buf())
  return M.execute('leanProxy.cache.explain', { { uri = uri } }, function(result)
    local text = type(result) == 'string' and result or vim.fn.json_encode(result)
    local lines = type(result) == 'table' and vim.split(vim.inspect(result), '\n') or vim.split(text, '\n')
    M.float('lean-lsp-proxy explain', lines)
  end)
end

function M.optimize()
  -- The proxy runs `lake exe cache get` (Mathlib) and `lake build` for the
  -- session's workspace, reports progress as LSP work-done progress, and
  -- answers with the result when the build is over.
  compat.notify('optimizing the Lean environment (lake build)...')
  local sent = M.execute('leanProxy.environment.optimize', {}, function(result)
    if type(result) == 'table' and result.ok then
      compat.notify(string.format('environment optimized in %.1f s', (result.durationMs or 0) / 1000))
    else
      local last = type(result) == 'table' and result.lastLines or {}
      local tail = #last > 0 and (': ' .. last[#last]) or ''
      compat.notify('environment optimization failed' .. tail, vim.log.levels.ERROR)
    end
  end, function(err)
    compat.notify('environment optimization failed (' .. (err.message or 'error') .. ')', vim.log.levels.ERROR)
  end)
  if not sent then
    compat.notify('no lean-lsp-proxy client for this buffer', vim.log.levels.WARN)
  end
  return sent
end

function M.define()
  local cmd = vim.api.nvim_create_user_command
  cmd('LeanProxyStats', function() M.stats() end, { desc = 'lean-lsp-proxy: cache and proxy statistics' })
  cmd('LeanProxyCacheClear', function() M.cache_clear() end, { desc = 'lean-lsp-proxy: clear the cache' })
  cmd('LeanProxyCacheToggle', function(a) M.cache_toggle(a.args ~= '' and a.args or nil) end, {
    nargs = '?',
    complete = function() return { 'on', 'off' } end,
    desc = 'lean-lsp-proxy: enable / disable the cache (no argument: flip)',
  })
  cmd('LeanProxyExplain', function() M.explain() end, { desc = 'lean-lsp-proxy: why this file hit or missed' })
  cmd('LeanProxyOptimize', function() M.optimize() end, { desc = 'lean-lsp-proxy: optimize the environment' })
end

return M

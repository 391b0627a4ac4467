-- Neovim API differences between 0.7.2 (Debian 12) and current releases, in one place.
local M = {}

local function has(v)
  return vim.fn.has('nvim-' .. v) == 1
end

M.uv = vim.uv or vim.loop

--- Clients attached to `bufnr` (all clients when nil).
function M.get_clients(bufnr)
  if vim.lsp.get_clients then -- 0.10+
    return vim.lsp.get_clients(bufnr and { bufnr = bufnr } or nil)
  end
  if bufnr then
    -- 0.7 returns a map keyed by client id.
    return vim.tbl_values(vim.lsp.buf_get_clients(bufnr))
  end
  return vim.lsp.get_active_clients()
end

--- client:request (0.11 made the method form the supported one; 0.7 only has the field form).
function M.request(client, method, params, handler, bufnr)
  if has('0.11') then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.stop(client)
  if has('0.11') then
    return client:stop()
  end
  return client.stop()
end

function M.is_stopped(client)
  if has('0.11') then
    return client:is_stopped()
  end
  return client.is_stopped()
end

function M.notify(msg, level)
  vim.notify('lean-lsp-proxy: ' .. msg, level or vim.log.levels.INFO)
end

--- Nearest ancestor directory of `path` holding one of `markers` (vim.fs.root is 0.10+).
function M.find_root(path, markers)
  if vim.fs and vim.fs.root then
    return vim.fs.root(path, markers)
  end
  local dir = vim.fn.fnamemodify(path, ':p:h')
  while true do
    for _, m in ipairs(markers) do
      if M.uv.fs_stat(dir .. '/' .. m) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

--- Starts (or reuses) a client for `config` and attaches `bufnr`; returns the client id.
--- `known` maps root_dir -> client id, the reuse that vim.lsp.start (0.8+) does itself.
function M.start(config, bufnr, known)
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = known[config.root_dir]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or M.is_stopped(client) then
    id = vim.lsp.start_client(config)
    if not id then
      return nil
    end
    known[config.root_dir] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

function M.set_filetype_for_lean()
  -- Neovim 0.7 does not know `.lean`; newer ones map it to `lean` already.
  if vim.filetype and vim.filetype.add and has('0.8') then
    vim.filetype.add({ extension = { lean = 'lean' } })
    return
  end
  vim.cmd([[
    augroup lean_lsp_proxy_filetype
      autocmd!
      autocmd BufRead,BufNewFile *.lean if &filetype ==# '' | setfiletype lean | endif
    augroup END
  ]])
end

return M

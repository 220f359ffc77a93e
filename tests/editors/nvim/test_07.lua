-- Headless Neovim end-to-end test of asyncsense using the Neovim 0.7 API:
-- vim.lsp.start_client + vim.lsp.buf_attach_client, buf_request_sync, apply_workspace_edit.
-- Runs on 0.7 and newer.
-- Usage: ASYNCSENSE_BIN=... ASYNCSENSE_WS=<copy of tests/fixtures/fastapi_app> \
--          timeout 90 nvim --headless -u NONE -c 'luafile test_07.lua'
-- Exit status: 0 = pass, 1 = fail (via :cquit 1).
local function out(s) io.stdout:write(s .. "\n"); io.stdout:flush() end
local t0 = vim.loop.hrtime()
local function ms() return math.floor((vim.loop.hrtime() - t0) / 1e6) end

local FLAGGED = "        async with self.db_session_factory() as session:"
-- The preferred fix wraps the generator with asynccontextmanager and adds `import contextlib`
-- with the other imports, so the fixed line is one further down.
local FIXED = "        async with contextlib.asynccontextmanager(self.db_session_factory)() as session:"
local LINE = 15 -- 0-based line of FLAGGED in app/services/users.py

local client_id
local ok, err = pcall(function()
  local bin = os.getenv("ASYNCSENSE_BIN") or "asyncsense"
  local ws = assert(os.getenv("ASYNCSENSE_WS"), "ASYNCSENSE_WS not set")
  local file = ws .. "/app/services/users.py"
  assert(vim.fn.filereadable(file) == 1, "missing " .. file)

  -- -u NONE disables filetype detection; without it didOpen sends languageId ""
  vim.cmd("filetype on")
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  assert(vim.bo[buf].filetype == "python", "filetype not detected: '" .. vim.bo[buf].filetype .. "'")
  local got = vim.api.nvim_buf_get_lines(buf, LINE, LINE + 1, false)[1]
  assert(got == FLAGGED, "fixture line " .. (LINE + 1) .. " is not the expected one: " .. tostring(got))
  local uri = vim.uri_from_bufnr(buf)

  -- raw LSP diagnostics as published, per URI (kept to send back in the codeAction context)
  local published = {}
  local publishes = 0
  local default_handler = vim.lsp.handlers["textDocument/publishDiagnostics"]
  local function on_publish(e, result, ctx, config)
    if result and result.uri then
      published[result.uri] = result.diagnostics
      publishes = publishes + 1
    end
    return default_handler(e, result, ctx, config)
  end
  local function apm101()
    for _, d in ipairs(published[uri] or {}) do
      if d.code == "APM101" then return d end
    end
  end

  client_id = vim.lsp.start_client({
    name = "asyncsense",
    cmd = { bin, "server" },
    root_dir = ws,
    handlers = { ["textDocument/publishDiagnostics"] = on_publish },
    on_exit = function(code, signal)
      if code ~= 0 then out("server exited code=" .. tostring(code) .. " signal=" .. tostring(signal)) end
    end,
  })
  if not client_id then error("vim.lsp.start_client returned nil (cmd " .. bin .. ")") end
  vim.lsp.buf_attach_client(buf, client_id)
  if not vim.wait(15000, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c ~= nil and c.initialized
  end, 20) then error("server did not initialize within 15 s") end
  out("initialized after " .. ms() .. " ms")

  -- diagnostics (may be republished after the workspace is indexed)
  if not vim.wait(20000, function() return apm101() ~= nil end, 20) then
    error("no APM101 diagnostic within 20 s; " .. publishes .. " publishes; last for the file: "
      .. vim.inspect(published[uri]))
  end
  local d = apm101()
  out(string.format("APM101 after %d ms: line %d col %d [%s] %s", ms(), d.range.start.line + 1,
    d.range.start.character + 1, tostring(d.source), d.message))
  assert(d.source == "asyncsense", "unexpected source " .. tostring(d.source))
  assert(d.range.start.line == LINE, "APM101 on line " .. (d.range.start.line + 1) .. ", expected " .. (LINE + 1))
  assert(#vim.diagnostic.get(buf) > 0, "vim.diagnostic.get(buf) is empty although APM101 was published")

  -- code actions for the diagnostic
  local params = {
    textDocument = { uri = uri },
    range = d.range,
    context = { diagnostics = { d } },
  }
  local responses, rerr = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, 10000)
  if not responses then error("codeAction request failed: " .. tostring(rerr)) end
  local action, titles = nil, {}
  for _, resp in pairs(responses) do
    if resp.error then error("codeAction error: " .. vim.inspect(resp.error)) end
    for _, a in ipairs(resp.result or {}) do
      table.insert(titles, (a.isPreferred and "* " or "  ") .. a.title)
      if a.isPreferred then action = a end
    end
  end
  out("code actions:\n  " .. table.concat(titles, "\n  "))
  if not action then error("no preferred code action offered: " .. vim.inspect(responses)) end
  assert(action.title:find("Wrap with `asynccontextmanager`", 1, true) == 1,
    "unexpected preferred action title: " .. action.title)
  local client = vim.lsp.get_client_by_id(client_id)
  if not action.edit then
    local res = client.request_sync("codeAction/resolve", action, 10000, buf)
    if not res or res.err or not res.result or not res.result.edit then
      error("preferred action has no edit and resolve failed: " .. vim.inspect(res))
    end
    action = res.result
  end

  -- apply it
  vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  local line = vim.api.nvim_buf_get_lines(buf, LINE + 1, LINE + 2, false)[1]
  out("line after fix: " .. line)
  if line ~= FIXED then
    error("buffer not changed as expected:\n  got:  " .. vim.inspect(line) .. "\n  want: " .. vim.inspect(FIXED))
  end

  -- the server sees didChange and clears the finding
  if not vim.wait(15000, function() return apm101() == nil end, 20) then
    error("APM101 not cleared within 15 s after the fix: " .. vim.inspect(published[uri]))
  end
  if not vim.wait(5000, function() return #vim.diagnostic.get(buf) == 0 end, 20) then
    error("vim.diagnostic.get(buf) not empty after the fix: " .. vim.inspect(vim.diagnostic.get(buf)))
  end
  out("diagnostics cleared after " .. ms() .. " ms")
end)

if client_id then
  pcall(function()
    vim.lsp.stop_client(client_id)
    vim.wait(3000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
  end)
end
out((ok and "PASS" or "FAIL: " .. tostring(err)) .. " (" .. ms() .. " ms, " .. tostring(vim.version and
  (vim.version().major .. "." .. vim.version().minor .. "." .. vim.version().patch)) .. ")")
vim.cmd(ok and "qall!" or "cquit 1")

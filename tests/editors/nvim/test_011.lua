-- Headless Neovim (0.11+) end-to-end test of asyncsense along the path a user takes:
-- editors/neovim on 'runtimepath' + vim.lsp.enable('asyncsense') (config from
-- editors/neovim/lsp/asyncsense.lua), then vim.lsp.buf.code_action({ apply = true, filter = isPreferred }).
-- Usage: ASYNCSENSE_WS=<copy of tests/fixtures/fastapi_app> [ASYNCSENSE_BIN=...] \
--          timeout 90 nvim --headless -u NONE -c 'luafile test_011.lua'
-- `asyncsense` must be on PATH unless ASYNCSENSE_BIN is set (then only cmd is overridden).
-- Exit status: 0 = pass, 1 = fail (via :cquit 1).
local function out(s) io.stdout:write(s .. "\n"); io.stdout:flush() end
local t0 = vim.uv.hrtime()
local function ms() return math.floor((vim.uv.hrtime() - t0) / 1e6) end

local FLAGGED = "        async with self.db_session_factory() as session:"
-- The preferred fix wraps the generator with asynccontextmanager and adds `import contextlib`
-- with the other imports, so the fixed line is one further down.
local FIXED = "        async with contextlib.asynccontextmanager(self.db_session_factory)() as session:"
local LINE = 15 -- 0-based line of FLAGGED in app/services/users.py

local function apm101(buf)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.code == "APM101" and d.source == "asyncsense" then return d end
  end
end

local failures = {} -- checks that failed without stopping the test
local ok, err = pcall(function()
  local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
  local editor_dir = vim.fn.fnamemodify(here .. "/../../../editors/neovim", ":p"):gsub("/$", "")
  assert(vim.fn.filereadable(editor_dir .. "/lsp/asyncsense.lua") == 1, "missing " .. editor_dir .. "/lsp/asyncsense.lua")
  local ws = assert(os.getenv("ASYNCSENSE_WS"), "ASYNCSENSE_WS not set")
  local file = ws .. "/app/services/users.py"
  assert(vim.fn.filereadable(file) == 1, "missing " .. file)

  -- what a user's init.lua does
  vim.opt.runtimepath:append(editor_dir)
  if os.getenv("ASYNCSENSE_BIN") then
    vim.lsp.config("asyncsense", { cmd = { os.getenv("ASYNCSENSE_BIN"), "server" } })
  end
  vim.lsp.enable("asyncsense")
  local cfg = vim.lsp.config.asyncsense
  assert(cfg and cfg.cmd and vim.tbl_contains(cfg.filetypes or {}, "python"),
    "lsp/asyncsense.lua not picked up from runtimepath: " .. vim.inspect(cfg))
  assert(vim.fn.executable(cfg.cmd[1]) == 1, "server not executable: " .. cfg.cmd[1])

  -- -u NONE disables filetype detection; vim.lsp.enable starts servers on FileType
  vim.cmd("filetype on")
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  assert(vim.bo[buf].filetype == "python", "filetype not detected: '" .. vim.bo[buf].filetype .. "'")
  assert(vim.api.nvim_buf_get_lines(buf, LINE, LINE + 1, false)[1] == FLAGGED, "fixture line is not the expected one")

  if not vim.wait(15000, function() return #vim.lsp.get_clients({ bufnr = buf, name = "asyncsense" }) > 0 end, 20) then
    error("vim.lsp.enable did not attach asyncsense to the buffer within 15 s")
  end
  local client = vim.lsp.get_clients({ bufnr = buf, name = "asyncsense" })[1]
  out("attached after " .. ms() .. " ms, root_dir " .. tostring(client.root_dir))
  assert(vim.fs.normalize(client.root_dir) == vim.fs.normalize(ws),
    "root_dir " .. tostring(client.root_dir) .. " is not the workspace " .. ws)

  -- Neovim 0.11 pulls diagnostics (textDocument/diagnostic) right after didOpen and does not
  -- support workspace/diagnostic/refresh, so the first answer must already contain the finding.
  if not vim.wait(10000, function() return apm101(buf) ~= nil end, 20) then
    table.insert(failures, "no APM101 diagnostic within 10 s of opening the file (pull client, no re-pull "
      .. "until the next change: did the server answer textDocument/diagnostic before the workspace "
      .. "index was ready?); diagnostics: " .. vim.inspect(vim.diagnostic.get(buf)))
    out("FAILED CHECK: " .. failures[#failures])
    -- carry on to exercise the rest of the path: ask for the diagnostics again
    out("re-pulling diagnostics to test the rest of the path")
    vim.lsp.util._refresh("textDocument/diagnostic", { bufnr = buf, client_id = client.id })
    if not vim.wait(10000, function() return apm101(buf) ~= nil end, 20) then
      error("no APM101 diagnostic even after a re-pull; diagnostics: " .. vim.inspect(vim.diagnostic.get(buf)))
    end
  end
  local d = apm101(buf)
  out(string.format("APM101 after %d ms: line %d col %d", ms(), d.lnum + 1, d.col + 1))
  assert(d.lnum == LINE, "APM101 on line " .. (d.lnum + 1) .. ", expected " .. (LINE + 1))

  -- the user's key: cursor on the finding, apply the preferred fix
  vim.api.nvim_win_set_cursor(0, { d.lnum + 1, d.col })
  vim.lsp.buf.code_action({ apply = true, filter = function(a) return a.isPreferred end })
  if not vim.wait(10000, function()
    return vim.api.nvim_buf_get_lines(buf, LINE, LINE + 1, false)[1] ~= FLAGGED
  end, 20) then error("preferred quick fix was not applied within 10 s") end
  local line = vim.api.nvim_buf_get_lines(buf, LINE + 1, LINE + 2, false)[1]
  out("line after fix: " .. line)
  if line ~= FIXED then
    error("buffer not changed as expected:\n  got:  " .. vim.inspect(line) .. "\n  want: " .. vim.inspect(FIXED))
  end

  if not vim.wait(15000, function() return apm101(buf) == nil end, 20) then
    error("APM101 not cleared within 15 s after the fix: " .. vim.inspect(vim.diagnostic.get(buf)))
  end
  out("APM101 cleared after " .. ms() .. " ms")

  client:stop()
  vim.wait(3000, function() return client:is_stopped() end, 20)
end)

if ok and #failures > 0 then ok, err = false, table.concat(failures, "\n  ") end
out((ok and "PASS" or "FAIL: " .. tostring(err)) .. " (" .. ms() .. " ms, " .. tostring(vim.version()) .. ")")
vim.cmd(ok and "qall!" or "cquit 1")

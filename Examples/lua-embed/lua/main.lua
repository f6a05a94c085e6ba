-- The application's entry point: embedded, like every module it requires.
local greet = require("greet")
local strings = require("util.strings")

print(greet.hello(arg[1] or "world"))
print(strings.shout("modules come from the bundle"))
print("loaded from: " .. greet.origin)

-- A module that is not embedded fails with the searchers' messages, ours among them.
local ok, err = pcall(require, "not.there")
print("require('not.there') " .. (ok and "succeeded" or "failed"))
print(err:match("no embedded file 'not/there.lua'") and "searcher: no embedded file 'not/there.lua'" or err)

-- A directory of modules is not a module: the searcher tells it from a missing file.
local ok2, err2 = pcall(require, "util")
print(err2:match("embedded directory 'util' has no init.lua") or err2)

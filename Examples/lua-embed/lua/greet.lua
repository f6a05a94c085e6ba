local greet = {}

-- require passes the loader's extra value: the embedded file the module came from.
greet.origin = select(2, ...)

function greet.hello(name)
  return "hello, " .. name .. "!"
end

return greet

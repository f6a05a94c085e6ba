local strings = {}

function strings.shout(text)
  return text:upper() .. "!"
end

return strings

import CSite
import PolybinFiles

// The bundle the PolybinEmbed plugin compiled into this program, through its C accessor.
var size = 0
let files = try EmbeddedFiles(start: site_bundle(&size), count: size)

// `serve-site NAME...` prints those files; with no names, lists what is embedded.
let names = CommandLine.arguments.dropFirst()
for name in names {
    if let file = files[name] {
        print(String(decoding: try file.bytes(), as: UTF8.self), terminator: "")
    } else {
        print("\(name): not embedded")
    }
}
if names.isEmpty {
    for file in files {
        print("\(file.name): \(file.size) bytes")
    }
}

import CAssets
import PolybinFiles

// The bundle `polybin embed` compiled into this program, through its C accessor.
var size = 0
let files = try EmbeddedFiles(start: assets_bundle(&size), count: size)

// `show-assets NAME...` prints those files; with no names, a tour of the API.
let names = CommandLine.arguments.dropFirst()
for name in names {
    if let file = files[name] {
        print(String(decoding: try file.bytes(), as: UTF8.self), terminator: "")
    } else {
        print("\(name): not embedded")
    }
}
if names.isEmpty {
    try tour()
}

func tour() throws {
    for file in files {
        print("\(file.name): \(file.size) bytes, \(file.isCompressed ? "compressed" : "in place")")
    }

    // An uncompressed file is read where it lies in the binary: no copy.
    if let greeting = files["greeting.txt"], let bytes = greeting.buffer {
        print(String(decoding: bytes, as: UTF8.self), terminator: "")
    }

    // A compressed file is decoded, and checked against its SHA-256, into a new array.
    if let long = files["docs/long.txt"] {
        let text = String(decoding: try long.bytes(), as: UTF8.self)
        print("docs/long.txt ends with: \(text.split(separator: "\n").last ?? "")")
    }

    print("missing.txt: \(files["missing.txt"] == nil ? "not embedded" : "embedded")")

    // The generated C API is there too.
    if let file = assets_find("greeting.txt") {
        print("assets_find(\"greeting.txt\"): \(file.pointee.size) bytes")
    }
}

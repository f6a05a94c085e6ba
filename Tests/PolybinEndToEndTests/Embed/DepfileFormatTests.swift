import Foundation
import Testing
import PolybinTestSupport
@testable import PolybinKit

/// `embed --depfile-format`: the escapes each reader takes and the names each refuses. The
/// readers themselves read these files in CMakeDepfileTests (CMake's Makefiles generator and
/// Ninja) and EmbedSafetyTests (GNU make).
@Suite struct DepfileFormatTests {
    func word(_ name: String, _ format: DepfileFormat) throws -> String {
        let text = try Depfile.text(targets: [FilePath("out.o")], prerequisites: [FilePath(name)], format: format)
        let line = String(decoding: text, as: UTF8.self).split(separator: "\n")[1]
        return String(line.dropFirst())
    }

    @Test func ninjaUnescapesWhatItIsGivenBack() throws {
        #expect(try word("sp ace", .ninja) == ##"sp\ ace"##)
        #expect(try word("has#hash", .ninja) == ##"has\#hash"##)
        #expect(try word("dollar$x", .ninja) == "dollar$$x")
        #expect(try word("12:30=%[a]", .ninja) == "12:30=%[a]")
        // A backslash run: 2N+1 before a space, N+1 before #, as it is before anything else.
        #expect(try word(##"a\ b"##, .ninja) == ##"a\\\ b"##)
        #expect(try word(##"a\\#b"##, .ninja) == ##"a\\\#b"##)
        #expect(try word(##"a\;b"##, .ninja) == ##"a\;b"##)
    }

    @Test func cmakeWritesGCCEscapes() throws {
        #expect(try word("sp ace", .cmake) == ##"sp\ ace"##)
        #expect(try word("has#hash", .cmake) == ##"has\#hash"##)
        #expect(try word("dollar$x=y", .cmake) == "dollar$$x=y")
    }

    /// What the reader cannot read back is refused before anything is written, one line naming
    /// the file and why.
    @Test(arguments: [("ninja", "semi;colon", "';'"), ("ninja", "ends:", "':'"), ("ninja", "end\\", "backslash"),
                      ("ninja", "pi|pe", "'|'"), ("ninja", "a\\$b", "'$'"),
                      ("cmake", "12:30.log", "':'"), ("cmake", "x%y", "'%'"), ("cmake", "a\\b", "backslash"),
                      ("cmake", "star*", "'*'"), ("cmake", "new\nline", "line break")])
    func namesTheReaderCannotReadAreRefused(format: String, name: String, why: String) throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-depfile-format")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("x".utf8).write(to: dir.appendingPathComponent(name))
        let result = try run(TestEnvironment.polybin, ["embed", "--name", "assets", "-o", "out.o", "--depfile", "out.d",
                                                       "--depfile-format", format, name], cwd: dir)
        #expect(result.status == 1)
        #expect(result.err.hasPrefix("polybin: \(String(reflecting: name).dropFirst().dropLast()): "), "\(result.err)")
        #expect(result.err.contains("cannot name this file") && result.err.contains(why), "\(result.err)")
        #expect(result.err.filter { $0 == "\n" }.count == 1, "not one line: \(result.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [name])
    }

    @Test func aFormatWithoutADepfileIsRefused() throws {
        let result = try run(TestEnvironment.polybin, ["embed", "--name", "assets", "-o", "out.o", "--depfile-format", "ninja", "in"])
        #expect(result.status == 1)
        #expect(result.err.contains("--depfile-format is the format of --depfile"), "\(result.err)")
    }
}

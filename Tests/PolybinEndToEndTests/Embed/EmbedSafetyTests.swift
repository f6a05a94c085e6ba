import Foundation
import Glibc
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Embedding never loses data and never stales a build (issue 8, section 4): outputs that
/// overlap inputs or each other are refused before anything is written, outputs are written
/// all or nothing, an input directory holding the outputs leaves them out, one file spelled
/// two ways is one file, files whose size lies are read to the end, path bytes stay exact,
/// and depfiles keep GNU make correct for every name they can spell.
@Suite struct EmbedSafety {
    /// A scratch directory; polybin runs inside it.
    struct Scratch {
        let dir: URL

        init() throws { dir = try TestEnvironment.temporaryDirectory("polybin-embed-safety") }

        func remove() { try? FileManager.default.removeItem(at: dir) }

        func file(_ path: String, _ text: String = "x") throws {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }

        func text(_ path: String) throws -> String {
            String(decoding: try Data(contentsOf: dir.appendingPathComponent(path)), as: UTF8.self)
        }

        func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: dir.appendingPathComponent(path).path) }

        /// Every path below the scratch directory, hidden ones included.
        func listing() throws -> [String] {
            try shell("find . | LC_ALL=C sort", cwd: dir).out.split(separator: "\n").map(String.init)
        }

        func polybin(_ arguments: [String]) throws -> ProcessResult {
            try run(TestEnvironment.polybin, ["embed", "--name", "assets"] + arguments, cwd: dir)
        }

        /// `polybin embed ARGS` must fail with one `polybin: PATH: ...` line and leave the
        /// scratch directory exactly as it was; returns the message.
        @discardableResult
        func refused(_ arguments: [String], naming path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let before = try listing()
            let contents = try before.filter { (try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent($0).path)[.type] as? FileAttributeType) == .typeRegular }
                .map { try Data(contentsOf: dir.appendingPathComponent($0)) }
            let result = try polybin(arguments)
            #expect(result.status == 1, "polybin embed \(arguments): \(result.err)", sourceLocation: sourceLocation)
            #expect(result.err.hasPrefix("polybin: \(path): ") || result.err.hasPrefix("polybin: \(path) and "), "\(result.err)", sourceLocation: sourceLocation)
            #expect(result.err.filter { $0 == "\n" }.count == 1, "not one line: \(result.err)", sourceLocation: sourceLocation)
            #expect(try listing() == before, "files appeared or vanished", sourceLocation: sourceLocation)
            let after = try before.filter { (try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent($0).path)[.type] as? FileAttributeType) == .typeRegular }
                .map { try Data(contentsOf: dir.appendingPathComponent($0)) }
            #expect(after == contents, "a file was rewritten", sourceLocation: sourceLocation)
            return result.err
        }

        /// The names in a c-incbin bundle, and their contents.
        func bundle(_ path: String) throws -> [String: String] {
            let bundle = try LoadedBundle(path: dir.appendingPathComponent(path).path)
            var out: [String: String] = [:]
            for entry in bundle.entries { out[entry.name] = String(decoding: try bundle.content(of: entry), as: UTF8.self) }
            return out
        }
    }

    @Test func outputsOverlappingInputsOrEachOtherAreRefusedBeforeAnythingIsWritten() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("same/f.txt", "the only copy")
        try s.file("in.txt", "input")
        try s.file("old.o", "an old object")
        try FileManager.default.linkItem(atPath: s.dir.appendingPathComponent("same/f.txt").path,
                                         toPath: s.dir.appendingPathComponent("same/hard.txt").path)
        try FileManager.default.createSymbolicLink(atPath: s.dir.appendingPathComponent("link.txt").path, withDestinationPath: "same/f.txt")

        try s.refused(["-o", "same/f.txt", "same/f.txt"], naming: "same/f.txt")
        try s.refused(["-o", "./same//f.txt", "same/f.txt"], naming: "same/f.txt")
        try s.refused(["-o", "same/hard.txt", "same/f.txt"], naming: "same/f.txt")
        try s.refused(["-o", "link.txt", "same/f.txt"], naming: "same/f.txt")
        try s.refused(["-o", "out.o", "--header", "out.o", "in.txt"], naming: "out.o")
        try s.refused(["-o", "old.o", "--header", "./old.o", "in.txt"], naming: "./old.o")
        try s.refused(["-o", "out.o", "--depfile", "same/../out.o", "in.txt"], naming: "same/../out.o")
        try s.refused(["-o", "out.o", "--header", "out.h", "--depfile", "in.txt", "in.txt"], naming: "in.txt")
        try s.refused(["--mode", "c-incbin", "-o", "out.c", "--bundle", "out.c", "in.txt"], naming: "out.c")
        try s.refused(["--mode", "c-embed", "-o", "x.c", "--bundle", "./x.c", "--header", "x.h", "in.txt"], naming: "./x.c")
        #expect(try s.text("same/f.txt") == "the only copy")
    }

    @Test func outputsThatAreNotRegularFilesAreRefusedWithoutBlocking() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("in.txt")
        try FileManager.default.createDirectory(at: s.dir.appendingPathComponent("adir"), withIntermediateDirectories: true)
        #expect(mkfifo(s.dir.appendingPathComponent("pipe").path, 0o644) == 0)
        // Reading an existing header through a FIFO blocked forever; `timeout` turns that into 124.
        let blocked = try shell("timeout 20 '\(TestEnvironment.polybin)' embed --name assets --header pipe", cwd: s.dir)
        #expect(blocked.status == 1, "\(blocked.status): \(blocked.err)")
        #expect(blocked.err.hasPrefix("polybin: pipe: "), "\(blocked.err)")
        try s.refused(["-o", "pipe", "in.txt"], naming: "pipe")
        try s.refused(["-o", "adir", "in.txt"], naming: "adir")
    }

    @Test func anInputDirectoryHoldingTheOutputsLeavesThemOut() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("web/index.html", "<p>hi</p>")
        for hidden in [[], ["--include-hidden"]] {
            for _ in 0..<2 {
                let result = try s.polybin(hidden + ["--mode", "c-incbin", "-o", "web/assets.c", "--header", "web/assets.h",
                                                     "--depfile", "web/assets.d", "web"])
                #expect(result.status == 0, "\(result.err)")
                #expect(try s.bundle("web/assets.bundle") == ["index.html": "<p>hi</p>"])
            }
        }
        // Spelled another way, through the same directory: still left out.
        let result = try s.polybin(["--mode", "c-incbin", "-o", "./web//assets.c", "--bundle", "web/../web/assets.bundle",
                                   "--header", "web//assets.h", "--depfile", "./web/assets.d", "web/"])
        #expect(result.status == 0, "\(result.err)")
        #expect(try s.bundle("web/assets.bundle") == ["index.html": "<p>hi</p>"])
    }

    /// Writing the outputs into a directory the depfile lists changes that directory; the
    /// outputs must still be newer, or make would rerun polybin on every build.
    @Test func outputsInADirectoryTheyDependOnLeaveMakeUpToDate() throws {
        guard TestEnvironment.require("make", install: "apt-get install make") else { return }
        let s = try Scratch(); defer { s.remove() }
        try s.file("web/index.html", "<p>hi</p>")
        try s.file("Makefile", """
            web/assets.c:
            \t'\(TestEnvironment.polybin)' embed --name assets --mode c-incbin -o web/assets.c --header web/assets.h --depfile web/assets.d web
            -include web/assets.d

            """)
        try mustRun("/bin/sh", ["-c", "touch -d '2000-01-01 00:00' web/index.html web"], cwd: s.dir)
        for _ in 0..<2 {
            let built = try run("make", ["--no-print-directory"], cwd: s.dir)
            #expect(built.status == 0, "\(built.err)")
            #expect(try run("make", ["-q"], cwd: s.dir).status == 0, "make reruns polybin after every build")
            #expect(try s.bundle("web/assets.bundle") == ["index.html": "<p>hi</p>"])
            try s.file("web/index.html", "<p>hi</p>")
        }
    }

    @Test func aFailingOutputLeavesEveryOtherOutputAsItWas() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("in.txt", "input")
        try s.file("out/assets.o", "old object")
        try s.file("out/assets.c", "old source")
        try s.file("out/assets.bundle", "old bundle")
        let cases: [[String]] = [
            ["-o", "out/assets.o", "--header", "missing/assets.h", "in.txt"],
            ["-o", "out/assets.o", "--header", "out/assets.h", "--depfile", "missing/assets.d", "in.txt"],
            ["--mode", "c-incbin", "-o", "out/assets.c", "--depfile", "missing/assets.d", "in.txt"],
            ["--mode", "c", "-o", "out/assets.c", "--header", "missing/assets.h", "in.txt"],
        ]
        for arguments in cases {
            let result = try s.polybin(arguments)
            #expect(result.status == 1, "\(arguments): \(result.err)")
            #expect(result.err.hasPrefix("polybin: missing/assets."), "\(result.err)")
            #expect(try s.text("out/assets.o") == "old object", "\(arguments)")
            #expect(try s.text("out/assets.c") == "old source", "\(arguments)")
            #expect(try s.text("out/assets.bundle") == "old bundle", "\(arguments)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir.appendingPathComponent("out").path).sorted()
                    == ["assets.bundle", "assets.c", "assets.o"], "\(arguments): a file was left behind")
        }
    }

    @Test func oneFileSpelledSeveralWaysIsOneFile() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("a/x.txt", "x")
        let result = try s.polybin(["--mode", "c-incbin", "-o", "out.c", "a/x.txt", "./a/x.txt", "a//x.txt", "a/./x.txt"])
        #expect(result.status == 0, "\(result.err)")
        #expect(try s.bundle("out.bundle") == ["x.txt": "x"])
        // Two different files with one name are still an error.
        try s.file("b/x.txt", "other")
        try s.refused(["--mode", "c-incbin", "-o", "out.c", "a/x.txt", "./b/x.txt"], naming: "a/x.txt")
    }

    @Test func filesWhoseSizeLiesAreReadToTheEndAndFifosAreRefused() throws {
        let s = try Scratch(); defer { s.remove() }
        // /proc/version says st_size 0 and reads as one line.
        let expected = String(decoding: try Data(contentsOf: URL(fileURLWithPath: "/proc/version")), as: UTF8.self)
        #expect(!expected.isEmpty)
        for compress in [[], ["--compress"]] {
            let result = try s.polybin(compress + ["--mode", "c-incbin", "-o", "out.c", "/proc/version"])
            #expect(result.status == 0, "\(result.err)")
            #expect(try s.bundle("out.bundle") == ["version": expected], "\(compress)")
        }
        // A FIFO is refused at once, never opened for a read that would block.
        #expect(mkfifo(s.dir.appendingPathComponent("pipe").path, 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: s.dir.appendingPathComponent("to-pipe").path, withDestinationPath: "pipe")
        for arguments in [["pipe"], ["--follow-symlinks", "to-pipe"]] {
            let result = try shell("timeout 20 '\(TestEnvironment.polybin)' embed --name assets -o out.o " + arguments.joined(separator: " "), cwd: s.dir)
            #expect(result.status == 1, "\(arguments): \(result.status) \(result.err)")
            #expect(result.err.contains("is neither a regular file nor a directory"), "\(result.err)")
        }
    }

    @Test func pathBytesThatAreNotUTF8StayExact() throws {
        let s = try Scratch(); defer { s.remove() }
        let polybin = "'\(TestEnvironment.polybin)' embed --name assets"
        try mustRun("/bin/sh", ["-c", "mkdir \"$(printf 'd\\377')\" && printf hello > \"$(printf 'd\\377/a.txt')\" && printf bad > \"$(printf 'f\\377.txt')\""], cwd: s.dir)
        // A directory and a file inside it, both named with byte 0xff: found, embedded, and
        // the output written under exactly the bytes given.
        let made = try shell("\(polybin) --mode c-incbin -o \"$(printf 'out\\377.c')\" --bundle assets.bundle --depfile \"$(printf 'out\\377.d')\" \"$(printf 'd\\377')\" \"$(printf 'd\\377/a.txt')\""
                             + " && test -f \"$(printf 'out\\377.c')\" && test -f \"$(printf 'out\\377.d')\"", cwd: s.dir)
        #expect(made.status == 0, "\(made.err)")
        let replaced = try shell("find . -name \"*$(printf '\\357\\277\\275')*\"", cwd: s.dir)
        #expect(replaced.status == 0 && replaced.out.isEmpty, "a path was written with U+FFFD: \(replaced.out)")
        #expect(try s.bundle("assets.bundle") == ["a.txt": "hello"])
        // The depfile names the files with their bytes.
        let depfile = try Files.read(FilePath(bytes: Array((s.dir.path + "/out").utf8) + [0xFF] + Array(".d".utf8)))
        #expect(depfile.starts(with: Array("out".utf8) + [0xFF] + Array(".c".utf8)))
        #expect(depfile.contains(0xFF) && !depfile.indices.contains { depfile[$0...].starts(with: [0xEF, 0xBF, 0xBD]) })
        // A bundle name must be UTF-8: a file named with 0xff is refused by name, not "no such file".
        let refused = try shell("\(polybin) -o out.o \"$(printf 'f\\377.txt')\"", cwd: s.dir)
        #expect(refused.status == 1)
        #expect(refused.err.contains("not valid UTF-8"), "\(refused.err)")
        #expect(!s.exists("out.o"))
    }

    /// The depfile read by GNU make itself: for each awkward name, an edit rebuilds, the
    /// build is then up to date, and deleting the file rebuilds instead of stopping make.
    @Test(arguments: ["k=v.txt", "a:b.txt", "semi;colon", "x%y.txt", "sp ace", "has#hash", "dollar$x",
                      "star*.txt", "q?.txt", "br[a].txt", "back\\slash", "end\\", "pi|pe", "per%\\cent", "a\\;b", "a\\=b", "x\\:y", "a\\ b"])
    func depfilesKeepMakeCorrect(name: String) throws {
        guard TestEnvironment.require("make", install: "apt-get install make") else { return }
        let s = try Scratch(); defer { s.remove() }
        try s.file("in/plain.txt", "plain")
        try s.file("in/\(name)", "first")
        // Decoys a wildcard or a pattern could match instead.
        try s.file("in/starX.txt"); try s.file("in/qX.txt"); try s.file("in/bra.txt")
        try s.file("Makefile", """
            out/assets.c:
            \t'\(TestEnvironment.polybin)' embed --name assets --mode c-incbin -o out/assets.c --depfile out/assets.d in
            -include out/assets.d

            """)
        try FileManager.default.createDirectory(at: s.dir.appendingPathComponent("out"), withIntermediateDirectories: true)
        // Inputs older than any output, so that only an edit makes them newer.
        try mustRun("/bin/sh", ["-c", "find in -exec touch -h -d '2000-01-01 00:00' {} +"], cwd: s.dir)
        let make = { (arguments: [String]) in try run("make", ["--no-print-directory"] + arguments, cwd: s.dir) }
        let built = try make([])
        #expect(built.status == 0, "\(built.err)")
        #expect(try s.bundle("out/assets.bundle")[name] == "first")
        #expect(try make(["-q"]).status == 0, "not up to date after a build")

        try s.file("in/\(name)", "second")
        #expect(try make(["-q"]).status == 1, "an edit of \(name) is not seen")
        #expect(try make([]).status == 0)
        #expect(try s.bundle("out/assets.bundle")[name] == "second")
        try mustRun("/bin/sh", ["-c", "find in -exec touch -h -d '2000-01-01 00:00' {} +"], cwd: s.dir)
        #expect(try make(["-q"]).status == 0)

        try FileManager.default.removeItem(at: s.dir.appendingPathComponent("in/\(name)"))
        let afterDelete = try make([])
        #expect(afterDelete.status == 0, "\(afterDelete.err)")
        #expect(try s.bundle("out/assets.bundle")[name] == nil)
        #expect(try s.bundle("out/assets.bundle")["plain.txt"] == "plain")
    }

    /// Names a depfile cannot spell are refused when packing, naming the file: a newline or
    /// a tab anywhere, `~` starting a word (make expands it to a home directory), and a
    /// word ending in `)` with a `(` in it (make reads an archive member).
    @Test func namesMakeCannotReadAreRefusedWithTheirName() throws {
        let s = try Scratch(); defer { s.remove() }
        for name in ["new\nline", "tab\there", "~root", "arch(member)"] {
            try s.file("in/\(name)")
            for arguments in [["in"], [name]] {
                let result = try run(TestEnvironment.polybin, ["embed", "--name", "assets", "-o", "out.o", "--depfile", "out.d"] + arguments,
                                     cwd: arguments == ["in"] ? s.dir : s.dir.appendingPathComponent("in"))
                // In a directory's file `in/~root` the `~` starts no word: that one is fine.
                if name == "~root" && arguments == ["in"] {
                    #expect(result.status == 0, "\(result.err)")
                    try FileManager.default.removeItem(at: s.dir.appendingPathComponent("out.o"))
                    try FileManager.default.removeItem(at: s.dir.appendingPathComponent("out.d"))
                    continue
                }
                #expect(result.status == 1, "\(name.debugDescription) \(arguments): \(result.err)")
                #expect(result.err.hasPrefix("polybin: "), "\(result.err)")
                #expect(result.err.contains("make"), "\(result.err)")
                #expect(result.err.filter { $0 == "\n" }.count == 1, "not one line: \(result.err)")
                #expect(!s.exists("out.o") && !s.exists("out.d") && !s.exists("in/out.o") && !s.exists("in/out.d"))
            }
            try FileManager.default.removeItem(at: s.dir.appendingPathComponent("in/\(name)"))
        }
    }
}

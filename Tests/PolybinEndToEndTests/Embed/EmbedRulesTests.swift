import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The rules of docs/embedding.md, "Embedded files", one by one: which files are taken, what they are named, and
/// what is refused, with which message. Each bundle is read back with the C reader.
@Suite struct EmbedRules {
    /// A scratch directory holding the inputs, with polybin run inside it.
    struct Scratch {
        let dir: URL

        init() throws { dir = try TestEnvironment.temporaryDirectory("polybin-embed-rules") }

        func remove() { try? FileManager.default.removeItem(at: dir) }

        func file(_ path: String, _ text: String = "x") throws {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }

        func directory(_ path: String) throws {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(path), withIntermediateDirectories: true)
        }

        func symlink(_ path: String, to target: String) throws {
            try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent(path).path, withDestinationPath: target)
        }

        /// The names in the bundle `polybin embed ARGS` makes (c-incbin writes the bundle as a file).
        func names(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
            try embed(["--name", "assets", "--mode", "c-incbin", "-o", "out/assets.c"] + arguments, cwd: try out(), sourceLocation: sourceLocation)
            return try LoadedBundle(path: dir.appendingPathComponent("out/assets.bundle").path).entries.map(\.name)
        }

        /// polybin's error for `polybin embed ARGS`; nothing may be written.
        func refusal(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            try directory("refused")
            let result = try run(TestEnvironment.polybin, ["embed", "--name", "assets", "-o", "refused/assets.o",
                                                          "--header", "refused/assets.h"] + arguments, cwd: dir)
            #expect(result.status == 1, sourceLocation: sourceLocation)
            #expect(result.out.isEmpty, sourceLocation: sourceLocation)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("refused").path) == [],
                    "wrote files although it failed", sourceLocation: sourceLocation)
            return result.err
        }

        private func out() throws -> URL {
            try directory("out")
            return dir
        }
    }

    @Test func namesAreRelativeToEachDirectoryGiven() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("web/index.html"); try s.file("web/css/site.css"); try s.file("scripts/main.lua")
        #expect(try s.names(["web/", "scripts"]) == ["css/site.css", "index.html", "main.lua"])
    }

    @Test func aFileGivenByItselfIsNamedByItsLastComponent() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("deep/down/config.json")
        #expect(try s.names(["deep/down/config.json"]) == ["config.json"])
    }

    @Test func baseKeepsTheDirectoriesInTheNames() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("web/index.html"); try s.file("scripts/main.lua"); try s.file("web/css/site.css")
        #expect(try s.names(["--base", ".", "web", "./scripts/main.lua"]) == ["scripts/main.lua", "web/css/site.css", "web/index.html"])
        #expect(try s.names(["--base", "web", "web/css"]) == ["css/site.css"])
    }

    @Test func anInputOutsideTheBaseIsRefused() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("web/index.html"); try s.file("other/x")
        #expect(try s.refusal(["--base", "web", "other/x"]) == "polybin: other/x: is not inside --base web\n")
    }

    @Test func hiddenFilesAndDirectoriesAreSkippedUnlessIncluded() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/index.html"); try s.file("site/.env"); try s.file("site/.git/HEAD"); try s.file("site/a/.b/c")
        #expect(try s.names(["site"]) == ["index.html"])
        #expect(try s.names(["--include-hidden", "site"]) == [".env", ".git/HEAD", "a/.b/c", "index.html"])
    }

    @Test func aHiddenFileNamedExplicitlyIsTaken() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/.well-known/security.txt")
        #expect(try s.names(["site/.well-known"]) == ["security.txt"])
        #expect(try s.names(["--base", "site", "site/.well-known"]) == [".well-known/security.txt"])
    }

    @Test func symbolicLinksAreRefusedUnlessFollowed() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("real/data.txt", "data"); try s.directory("site"); try s.file("site/page.html")
        try s.symlink("site/data.txt", to: "../real/data.txt")
        try s.symlink("site/linked", to: "../real")
        #expect(try s.refusal(["site"]) == "polybin: site/data.txt: is a symbolic link; pass --follow-symlinks to embed what it points to\n")
        #expect(try s.names(["--follow-symlinks", "site"]) == ["data.txt", "linked/data.txt", "page.html"])
        try s.symlink("link-to-site", to: "site")
        #expect(try s.refusal(["link-to-site"]) == "polybin: link-to-site: is a symbolic link; pass --follow-symlinks to embed what it points to\n")
    }

    @Test func aSymbolicLinkLoopIsRefused() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/a/page.html")
        try s.symlink("site/a/up", to: "..")
        #expect(try s.refusal(["--follow-symlinks", "site"]) == "polybin: site/a/up: symbolic links lead into a loop here\n")
    }

    @Test func aDanglingSymbolicLinkIsRefused() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.directory("site")
        try s.symlink("site/gone", to: "nowhere")
        #expect(try s.refusal(["--follow-symlinks", "site"]) == "polybin: site/gone: is a symbolic link to nothing (dangling)\n")
    }

    @Test func emptyDirectoriesAreIgnored() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/index.html"); try s.directory("site/empty/emptier"); try s.directory("nothing/here")
        #expect(try s.names(["site", "nothing"]) == ["index.html"])
        #expect(try s.names(["nothing"]) == [])
    }

    @Test func twoFilesWithTheSameNameAreAnErrorNamingBoth() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("web/index.html"); try s.file("scripts/index.html")
        #expect(try s.refusal(["web", "scripts"]) == "polybin: web/index.html and scripts/index.html both map to the name 'index.html'; rename one, or use --base to keep their directories in the names\n")
        // The same file given twice is one file.
        #expect(try s.names(["web", "web/index.html"]) == ["index.html"])
    }

    /// A file named `x` beside a file named `x/y` would make `x` a file and a directory at once
    /// (the directory listing and lookup API could not answer for it): refused, naming both.
    @Test func aFileAndADirectoryOfOneNameAreAnErrorNamingBoth() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("one/x"); try s.file("two/x/y"); try s.file("two/x-a")
        #expect(try s.refusal(["one", "two"]) == "polybin: one/x: its name 'x' is also the directory of 'x/y' (two/x/y); a bundle cannot hold a file and a directory of one name\n")
        try s.file("three/a/b"); try s.file("four/a/b/c/d")
        #expect(try s.refusal(["four", "three"]) == "polybin: three/a/b: its name 'a/b' is also the directory of 'a/b/c/d' (four/a/b/c/d); a bundle cannot hold a file and a directory of one name\n")
        // A name that only begins like another file's is no directory of it.
        #expect(try s.names(["one", "two/x-a"]) == ["x", "x-a"])
    }

    @Test func anUnreadableFileIsAnErrorNamingIt() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/ok.txt"); try s.file("site/secret.txt")
        chmod(s.dir.appendingPathComponent("site/secret.txt").path, 0)
        // Root reads anything: drop the capabilities that let it, as setpriv does for one command.
        let prefix = getuid() == 0 ? ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"] : []
        guard prefix.isEmpty || TestEnvironment.has("setpriv") else {
            Issue.record("setpriv is missing: apt-get install util-linux")
            return
        }
        try s.directory("out")
        let command = prefix + [TestEnvironment.polybin, "embed", "--name", "assets", "-o", "out/assets.o", "site"]
        let result = try run(command[0], Array(command.dropFirst()), cwd: s.dir)
        #expect(result.status == 1)
        #expect(result.err == "polybin: site/secret.txt: cannot be read (open: Permission denied)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir.appendingPathComponent("out").path) == [])
    }

    @Test func anUnreadableDirectoryIsAnErrorNamingIt() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/ok.txt"); try s.file("site/closed/inside.txt")
        chmod(s.dir.appendingPathComponent("site/closed").path, 0)
        defer { chmod(s.dir.appendingPathComponent("site/closed").path, 0o755) }
        let prefix = getuid() == 0 ? ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"] : []
        try s.directory("out")
        let command = prefix + [TestEnvironment.polybin, "embed", "--name", "assets", "-o", "out/assets.o", "site"]
        let result = try run(command[0], Array(command.dropFirst()), cwd: s.dir)
        #expect(result.status == 1)
        #expect(result.err == "polybin: site/closed: cannot be read (opendir: Permission denied)\n")
    }

    /// The message names the file by its bytes (`\xE9`), which a user can find, not U+FFFD.
    @Test func aFileNameThatIsNotUTF8IsRefused() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.directory("site")
        try mustRun("/bin/sh", ["-c", "printf x > \"$(printf 'site/caf\\351')\""], cwd: s.dir)
        #expect(try s.refusal(["site"]) == "polybin: site/caf\\xE9: the file name is not valid UTF-8, which names in a bundle must be\n")
    }

    @Test func aBundleFileIsOnlyForModesThatReadOne() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/index.html")
        #expect(try s.refusal(["--bundle", "refused/x.bundle", "site"]) == "polybin: --bundle is for --mode c-embed and c-incbin; --mode object holds the bundle itself\n")
    }

    @Test func aMissingPathIsAnError() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/index.html")
        #expect(try s.refusal(["site", "nope/"]) == "polybin: nope: no such file or directory\n")
    }

    @Test func somethingThatIsNeitherFileNorDirectoryIsRefused() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.directory("site")
        mkfifo(s.dir.appendingPathComponent("site/pipe").path, 0o644)
        #expect(try s.refusal(["site"]) == "polybin: site/pipe: is neither a regular file nor a directory\n")
    }

    @Test(arguments: ["my-assets", "1assets", "", "two words", "caf\u{E9}", "a.b"])
    func aNameThatIsNotACIdentifierIsRefused(name: String) throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/index.html")
        try s.directory("out")
        let result = try run(TestEnvironment.polybin, ["embed", "--name", name, "-o", "out/x.o", "site"], cwd: s.dir)
        #expect(result.status == 1)
        #expect(result.err == "polybin: --name '\(name)' is not a valid C identifier: use letters, digits and _, not starting with a digit\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir.appendingPathComponent("out").path) == [])
    }

    @Test func namesWithSpacesAndNonASCIICharactersAreKeptAsTheyAre() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/a file.txt"); try s.file("site/\u{65E5}\u{672C}/\u{E9}t\u{E9}.txt")
        #expect(try s.names(["site"]) == ["a file.txt", "\u{65E5}\u{672C}/\u{E9}t\u{E9}.txt"])
    }

    @Test func aBadCompressionLevelIsRefused() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/index.html")
        #expect(try s.refusal(["--compress", "--level", "23", "site"]) == "polybin: compression level 23 is outside zstd's 1-22\n")
    }

    @Test func anUnknownModeIsRefused() throws {
        let s = try Scratch(); defer { s.remove() }
        try s.file("site/index.html")
        #expect(try s.refusal(["--mode", "xxd", "site"]) == "polybin: The value 'xxd' is invalid for '--mode <mode>'. Please provide one of 'object', 'c', 'c-embed' or 'c-incbin'. (see 'polybin embed --help')\n")
    }
}

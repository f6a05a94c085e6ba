import Foundation
@testable import PolybinKit
import Testing
import PolybinTestSupport

/// Issue 9, item 2: progress on a terminal, nothing in a pipe, nothing with --quiet.
@Suite struct ProgressTests {
    /// A pack that takes a while: 3 MB of random bytes at level 19. POLYBIN_PROGRESS_DELAY=0
    /// draws from the first tick instead of after a second, so no test depends on timing.
    static func packCommand(in dir: URL, quiet: Bool) throws -> String {
        let build = dir.appendingPathComponent("build")
        try Data(TestBytes.fakeExecutable(TestBytes.random(3 << 20, seed: 3))).write(to: build)
        return "POLYBIN_PROGRESS_DELAY=0 '\(TestEnvironment.polybin)' pack --level 19 \(quiet ? "--quiet " : "")"
            + "-o '\(dir.path)/out.bundle' --flavor 'x86-64=\(build.path)'"
    }

    /// Runs `command` with a pseudo-terminal as its stdin, stdout and stderr (util-linux script).
    static func underTerminal(_ command: String) throws -> ProcessResult {
        try run("script", ["-qec", command, "/dev/null"])
    }

    @Test func aTerminalShowsPhaseBytesAndRateThenErasesTheLine() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.underTerminal(Self.packCommand(in: dir, quiet: false))
        #expect(result.status == 0, "\(result.out)")
        #expect(result.out.contains("polybin: compressing  "), "\(result.out)")
        #expect(result.out.contains(" of 3.1 MB"), "\(result.out)")
        #expect(result.out.contains(" MB/s"), "\(result.out)")
        #expect(result.out.hasSuffix("\r\u{1B}[K"), "the line is erased at the end")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.bundle").path))
    }

    @Test func quietSilencesItOnATerminal() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.underTerminal(Self.packCommand(in: dir, quiet: true))
        #expect(result.status == 0, "\(result.out)")
        #expect(result.out.isEmpty, "\(result.out)")
    }

    @Test func aPipeGetsNothing() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try run("/bin/sh", ["-c", Self.packCommand(in: dir, quiet: false)])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.err.isEmpty, "\(result.err)")
        #expect(result.out.isEmpty, "\(result.out)")
    }

    @Test func sizesAndTimesReadAsWords() {
        #expect(Progress.megabytes(0) == "0.0")
        #expect(Progress.megabytes(3_145_764) == "3.1")
        #expect(Progress.megabytes(620_000_000) == "620.0")
        #expect(Progress.duration(0.2) == "1 s")
        #expect(Progress.duration(75) == "1 min 15 s")
    }

    // MARK: every other verb that can run long

    /// Inputs for the verbs, made once: a tree of two identical 3 MiB files (stored once) and
    /// a small one, and a bundle of a build and its delta (so extract decodes the
    /// reference first), its payload object, and its generated C.
    struct Fixture: Sendable {
        let dir: String
        let bundleSize: UInt64
        let objectSize: UInt64

        static func get() throws -> Fixture { try BuildOnce.value("ProgressTests.Fixture") { try Fixture() } }

        init() throws {
            let url = try TestEnvironment.temporaryDirectory("progress-fixture")
            dir = url.path
            let tree = url.appendingPathComponent("tree")
            try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
            let big = Data(TestBytes.random(3 << 20, seed: 5))
            try big.write(to: tree.appendingPathComponent("big.bin"))
            try big.write(to: tree.appendingPathComponent("copy.bin"))
            try Data("small\n".utf8).write(to: tree.appendingPathComponent("small.txt"))
            var body = TestBytes.random(3 << 20, seed: 6)
            try Data(TestBytes.fakeExecutable(body)).write(to: url.appendingPathComponent("build"))
            for i in stride(from: 0, to: body.count, by: 4096) { body[i] ^= 0xFF }
            try Data(TestBytes.fakeExecutable(body)).write(to: url.appendingPathComponent("build2"))
            for command in [
                "pack --quiet --level 1 -o app.bundle --flavor x86-64=build --flavor x86-64-v2=build2",
                "object --quiet app.bundle -o payload.o",
            ] {
                let result = try run("/bin/sh", ["-c", "cd '\(dir)' && '\(TestEnvironment.polybin)' \(command)"])
                guard result.status == 0 else { throw PolybinError("\(command): \(result.err)") }
            }
            bundleSize = try FileSystem.status(FilePath("\(dir)/app.bundle")).size
            objectSize = try FileSystem.status(FilePath("\(dir)/payload.o")).size
        }
    }

    /// A verb run on the fixture, and what its progress line must show on a terminal.
    struct Verb: CustomTestStringConvertible, Sendable {
        let name: String
        /// Arguments after `polybin`, run in a scratch directory OUT with the fixture at FIX.
        let arguments: String
        let expected: @Sendable (Fixture) -> [String]

        var testDescription: String { name }

        static let all: [Verb] = [
            Verb(name: "embed (object)", arguments: "embed --name assets -o OUT/assets.o FIX/tree") { _ in
                ["polybin: walking  3 files", "polybin: writing  3.1 of 3.1 MB", " MB/s"]
            },
            Verb(name: "embed (c)", arguments: "embed --name assets --mode c -o OUT/assets.c FIX/tree") { _ in
                ["polybin: walking  3 files", "polybin: writing C"]
            },
            Verb(name: "embed --compress", arguments: "embed --name assets --compress -o OUT/assets.o FIX/tree") { _ in
                // Compressing is a phase of its own, not more seconds of the walk.
                ["polybin: walking  3 files", "polybin: compressing  ", "polybin: writing  ", " MB/s"]
            },
            Verb(name: "object", arguments: "object FIX/app.bundle -o OUT/payload.o") { f in
                ["polybin: writing  \(Progress.megabytes(f.bundleSize)) of \(Progress.megabytes(f.bundleSize)) MB", " MB/s"]
            },
            Verb(name: "generate-c", arguments: "generate-c FIX/app.bundle -o OUT/payload.c") { _ in
                ["polybin: writing C"]
            },
            Verb(name: "link", arguments: "link FIX/payload.o -o OUT/app") { f in
                ["polybin: checking the payload  \(Progress.megabytes(f.objectSize)) of \(Progress.megabytes(f.objectSize)) MB",
                 "polybin: linking", " MB/s"]
            },
            Verb(name: "build", arguments: "build --level 1 -o OUT/app --flavor x86-64=FIX/build") { _ in
                ["polybin: compressing  3.1 of 3.1 MB", "polybin: linking", " MB/s"]
            },
            // The delta's reference is decoded first: 3 MiB of it, then 3 MiB of the delta.
            Verb(name: "extract", arguments: "extract FIX/app.bundle --flavor x86-64-v2 -o OUT/build2") { _ in
                ["polybin: decoding  6.3 of 6.3 MB", " MB/s"]
            },
        ]
    }

    static func command(_ verb: Verb, in out: URL, fixture: Fixture, quiet: Bool) -> String {
        let words = verb.arguments.split(separator: " ", maxSplits: 1)
        let rest = words[1].replacingOccurrences(of: "OUT", with: "'\(out.path)'").replacingOccurrences(of: "FIX", with: "'\(fixture.dir)'")
        return "POLYBIN_PROGRESS_DELAY=0 '\(TestEnvironment.polybin)' \(words[0]) \(quiet ? "--quiet " : "")\(rest)"
    }

    @Test(arguments: Verb.all) func everyLongVerbShowsItsPhasesOnATerminalOnly(_ verb: Verb) throws {
        let fixture = try Fixture.get()
        let out = try TestEnvironment.temporaryDirectory("progress-\(verb.name.prefix(while: \.isLetter))")
        defer { try? FileManager.default.removeItem(at: out) }

        let shown = try Self.underTerminal(Self.command(verb, in: out, fixture: fixture, quiet: false))
        #expect(shown.status == 0, "\(shown.out)")
        for text in verb.expected(fixture) {
            #expect(shown.out.contains(text), "\(verb.name): no '\(text)' in \(shown.out.debugDescription)")
        }
        #expect(shown.out.hasSuffix("\r\u{1B}[K"), "\(verb.name): the line is erased at the end: \(shown.out.debugDescription)")
        try FileManager.default.removeItem(at: out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        let quiet = try Self.underTerminal(Self.command(verb, in: out, fixture: fixture, quiet: true))
        #expect(quiet.status == 0, "\(quiet.out)")
        #expect(quiet.out.isEmpty, "\(verb.name) --quiet: \(quiet.out.debugDescription)")
        try FileManager.default.removeItem(at: out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        let piped = try run("/bin/sh", ["-c", Self.command(verb, in: out, fixture: fixture, quiet: false)])
        #expect(piped.status == 0, "\(piped.err)")
        #expect(piped.err.isEmpty, "\(verb.name) in a pipe: \(piped.err.debugDescription)")
        #expect(piped.out.isEmpty, "\(verb.name) in a pipe: \(piped.out.debugDescription)")
    }

    // MARK: the line on a real terminal

    /// The rows a terminal would show: each draw starts with `\r\e[K`; the text between two
    /// of them is one draw.
    static func draws(_ output: String) -> [String] {
        output.components(separatedBy: "\r\u{1B}[K").filter { !$0.isEmpty }
    }

    /// At 10 columns every draw fits in 9 (the cursor never reaches the last column, where
    /// the terminal would wrap and `\r` could erase only the last row); on a wide terminal the
    /// whole line shows.
    @Test func theLineFitsTheTerminalsWidth() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let command = try Self.packCommand(in: dir, quiet: false)
        let narrow = try Self.underTerminal("stty cols 10; \(command)")
        #expect(narrow.status == 0, "\(narrow.out)")
        let draws = Self.draws(narrow.out)
        #expect(!draws.isEmpty, "\(narrow.out.debugDescription)")
        for draw in draws { #expect(draw.count <= 9 && !draw.contains("\n"), "\(draw.debugDescription) does not fit 10 columns") }
        #expect(draws.contains("polybin: "), "\(draws)")

        try FileManager.default.removeItem(at: dir.appendingPathComponent("out.bundle"))
        let wide = try Self.underTerminal("stty cols 200; \(command)")
        #expect(Self.draws(wide.out).contains { $0.hasPrefix("polybin: compressing  ") && $0.contains(" of 3.1 MB") }, "\(wide.out.debugDescription)")
    }

    /// Ctrl-C (SIGINT) in the middle of a step erases the line before polybin dies of it, so
    /// the shell's prompt does not follow a stale progress line; so do SIGTERM and SIGHUP.
    @Test(arguments: ["INT", "TERM", "HUP"])
    func aSignalErasesTheLine(signal: String) throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 24 MiB of random bytes at level 19: seconds of compressing, so the signal comes
        // while the line shows (the test checks that it did).
        let build = dir.appendingPathComponent("build")
        try Data(TestBytes.fakeExecutable(TestBytes.random(24 << 20, seed: 9))).write(to: build)
        let pack = "POLYBIN_PROGRESS_DELAY=0 '\(TestEnvironment.polybin)' pack --level 19 -o '\(dir.path)/out.bundle' --flavor 'x86-64=\(build.path)'"
        // Signalled once its temporary output exists and a draw has had time to happen. Job
        // control on: a shell without it starts background jobs with SIGINT ignored.
        let script = """
            set -m
            \(pack) & pid=$!
            while ! ls -a '\(dir.path)' | grep -q '^\\.out\\.bundle\\.tmp-'; do sleep 0.1; done
            sleep 0.5; kill -\(signal) $pid; wait $pid; echo "exit $?" >'\(dir.path)/status'
            """
        let result = try Self.underTerminal(script)
        let status = try String(contentsOf: dir.appendingPathComponent("status"), encoding: .utf8)
        try #require(status != "exit 0\n", "the pack ended before the signal: give it more to compress")
        #expect(Self.draws(result.out).contains { $0.hasPrefix("polybin: ") }, "no line was drawn: \(result.out.debugDescription)")
        // The last draw is followed by an erase (the shell's report of the signal comes after).
        let lastDraw = try #require(result.out.range(of: "\r\u{1B}[Kpolybin: ", options: .backwards))
        #expect(result.out[lastDraw.upperBound...].contains("\r\u{1B}[K"),
                "the line was left on the screen: \(result.out[lastDraw.lowerBound...].prefix(300).debugDescription)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.bundle").path))
    }
}

import Foundation
import Testing
import PolybinTestSupport

/// Every command in README.md and the docs pages runs as written from a fresh clone. Each
/// ```sh block runs, in the order of `documents` and of each page, with bash -e in one copy of the checkout's files (what `git clone` gives:
/// tracked and new files, nothing ignored), with the release polybin on PATH as
/// `tools/install` would put it, and a home of its own. A block that cannot run here says why
/// on the line before it, `<!-- not run: REASON -->`, naming the test that covers it.
/// ```console and ```make blocks are transcripts and fragments, not commands.
@Suite(.serialized) struct ReadmeCommandsTests {
    struct Block {
        let line: Int
        let text: String
        let notRunBecause: String?
    }

    /// The pages whose commands run, in reading order: later pages use what earlier ones built (out/).
    static let documents = ["README.md", "docs/fatbins.md", "docs/audit.md", "docs/runner.md", "docs/embedding.md",
                            "docs/php-host.md", "docs/command-line.md", "docs/contributing.md", "docs/architecture.md"]

    /// Each document's shell blocks, with the document named in `Block.line`'s messages.
    static func documentBlocks() throws -> [(document: String, block: Block)] {
        try documents.flatMap { document in
            let text = try String(contentsOf: TestEnvironment.root.appendingPathComponent(document), encoding: .utf8)
            return shellBlocks(of: text).map { (document, $0) }
        }
    }

    /// The README is a map, not the manual: short, with the demo, test and install commands on
    /// its first screen.
    @Test func theReadmeIsShortWithItsSetUpCommandsOnTheFirstScreen() throws {
        let lines = try String(contentsOf: TestEnvironment.root.appendingPathComponent("README.md"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count <= 200, "README.md has \(lines.count) lines; the manual belongs in docs/")
        let firstScreen = lines.prefix(40).joined(separator: "\n")
        for command in ["tools/demo", "tools/test", "tools/install"] {
            #expect(firstScreen.contains(command), "README.md's first 40 lines do not show \(command)")
        }
    }

    @Test func everyMarkdownPageWithCommandsIsRun() throws {
        let pages = try FileManager.default.contentsOfDirectory(atPath: TestEnvironment.root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }
        for page in pages {
            let text = try String(contentsOf: TestEnvironment.root.appendingPathComponent("docs/\(page)"), encoding: .utf8)
            if !Self.shellBlocks(of: text).isEmpty {
                #expect(Self.documents.contains("docs/\(page)"), "docs/\(page) has ```sh blocks that no test runs: add it to ReadmeCommandsTests.documents")
            }
        }
    }

    static func shellBlocks(of markdown: String) -> [Block] {
        let lines = markdown.components(separatedBy: "\n")
        var blocks: [Block] = []
        var lastText = ""
        var index = 0
        while index < lines.count {
            let line = lines[index]
            guard line.hasPrefix("```") else {
                if !line.trimmingCharacters(in: .whitespaces).isEmpty { lastText = line }
                index += 1
                continue
            }
            let language = line.dropFirst(3).trimmingCharacters(in: .whitespaces)
            let start = index + 1
            index += 1
            while index < lines.count, !lines[index].hasPrefix("```") { index += 1 }
            if language == "sh" {
                let marker = lastText.trimmingCharacters(in: .whitespaces)
                let reason = marker.hasPrefix("<!-- not run") && marker.hasSuffix("-->")
                    ? String(marker.dropFirst(4).dropLast(3)).trimmingCharacters(in: .whitespaces) : nil
                blocks.append(Block(line: start, text: lines[start..<index].joined(separator: "\n"), notRunBecause: reason))
            }
            lastText = ""
            index += 1
        }
        return blocks
    }

    /// The checkout's files as a clone has them, copied to `destination`.
    static func copyCheckout(to destination: URL) throws {
        let listing = try run("git", ["-C", TestEnvironment.root.path, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        try #require(listing.status == 0, "git ls-files: \(listing.err)")
        let manager = FileManager.default
        for path in listing.out.split(separator: "\0").map(String.init) {
            let source = TestEnvironment.root.appendingPathComponent(path)
            guard manager.fileExists(atPath: source.path) else { continue }  // deleted, not yet committed
            let target = destination.appendingPathComponent(path)
            try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try manager.copyItem(at: source, to: target)
        }
    }

    @Test func theReadmeHasCommandsAndSaysWhyAnyAreNotRun() throws {
        let blocks = try Self.documentBlocks()
        #expect(blocks.filter { $0.block.notRunBecause == nil }.count >= 5, "the docs' runnable examples were not found")
        for (document, block) in blocks {
            if let reason = block.notRunBecause {
                #expect(reason.contains("Tests") || reason.contains("tools/test"),
                        "\(document):\(block.line): '\(reason)' does not name what covers the block")
            }
        }
    }

    @Test func everyShellBlockRunsAsWrittenFromAFreshClone() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-readme")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clone = dir.appendingPathComponent("polybin"), home = dir.appendingPathComponent("home")
        try Self.copyCheckout(to: clone)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let bin = URL(fileURLWithPath: TestEnvironment.polybin).deletingLastPathComponent().path
        let environment: [String: String?] = [
            "PATH": "\(bin):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")",
            "HOME": home.path, "XDG_CACHE_HOME": nil, "POLYBIN_CACHE_DIR": nil, "POLYBIN_RUNNER": nil,
            "POLYBIN_EXEC": nil, "POLYBIN_FLAVOR": nil, "POLYBIN_LOG": nil, "POLYBIN_EXPLAIN": nil,
        ]
        let blocks = try Self.documentBlocks().filter { $0.block.notRunBecause == nil }
        for (document, block) in blocks {
            let result = try run("/bin/bash", ["-e", "-o", "pipefail", "-c", block.text], environment: environment, cwd: clone)
            #expect(result.status == 0 && !result.signaled,
                    "\(document):\(block.line) failed (status \(result.status)):\n\(block.text)\n\(result.out)\(result.err)")
        }

        // What the examples promise, checked on what they built.
        let show = try run(clone.appendingPathComponent("out/show").path, ["index.html"])
        #expect(show.stdout == (try Data(contentsOf: clone.appendingPathComponent("Examples/hello-embed/web/index.html"))))
        let level = try loaderLevel()
        #expect(try run(clone.appendingPathComponent("out/app").path, ["--level"], environment: ["HOME": home.path]).out == "\(level)\n")
        let demo = try run(clone.appendingPathComponent("out/demo").path, ["--level"], environment: ["HOME": home.path])
        #expect(demo.out == (level == "x86-64" || level == "x86-64-v2" ? "x86-64\n" : "x86-64-v3\n"))
        let cmakeDemo = try run(clone.appendingPathComponent("out/cmake/fatbin/fatbin-demo").path, ["--level"], environment: ["HOME": home.path])
        #expect(cmakeDemo.out == "\(level)\n", "the CMake example's fatbin: \(cmakeDemo.err)")
        let cmakeShow = try run(clone.appendingPathComponent("out/cmake/show").path, ["index.html"])
        #expect(cmakeShow.stdout == (try Data(contentsOf: clone.appendingPathComponent("Examples/hello-embed/web/index.html"))))
        let lua = try run(clone.appendingPathComponent("Examples/lua-embed/build/lua-app").path, cwd: home)
        #expect(lua.status == 0 && !lua.out.isEmpty, "lua-app: \(lua.err)")
    }

    /// The Quick start's first command, in this checkout (it writes demo-build/, git-ignored).
    @Test func theDemoRuns() throws {
        let scratch = URL(fileURLWithPath: TestEnvironment.polybin).deletingLastPathComponent().deletingLastPathComponent().path
        let result = try run(TestEnvironment.root.appendingPathComponent("tools/demo").path,
                             environment: ["POLYBIN_SCRATCH": scratch, "POLYBIN_PREBUILT": "1", "POLYBIN_LOG": nil, "POLYBIN_EXEC": nil, "POLYBIN_FLAVOR": nil])
        #expect(result.status == 0, "tools/demo: \(result.err)")
        #expect(result.out.contains("polybin: cpu \(try loaderLevel()), running "))
        #expect(result.out.contains("the four builds:") && result.out.contains("fatbin:"))
    }
}

import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The examples the embedding exists for, built as a user builds them: the Lua interpreter
/// and its application in one binary through Integrations/polybin.mk, and a SwiftPM program
/// reading its bundle with PolybinFiles. Serialized: each build keeps both cores busy.
@Suite(.serialized) struct EmbedExamples {
    static let luaExample = TestEnvironment.root.appendingPathComponent("Examples/lua-embed")
    static let swiftExample = TestEnvironment.root.appendingPathComponent("Examples/swift-embed")

    static let luaOutput = """
        hello, world!
        MODULES COME FROM THE BUNDLE!
        loaded from: greet.lua
        require('not.there') failed
        searcher: no embedded file 'not/there.lua'
        embedded directory 'util' has no init.lua

        """

    /// make in a copy of the Lua example (so editing its scripts touches nothing in the tree),
    /// with the build directory and polybin of this test run.
    struct LuaBuild {
        let dir: URL
        var source: URL { dir.appendingPathComponent("src") }
        var build: URL { dir.appendingPathComponent("build") }
        var program: URL { build.appendingPathComponent("lua-app") }

        init() throws {
            dir = try TestEnvironment.temporaryDirectory("polybin-lua")
            // The Makefile includes ../../Integrations/polybin.mk: keep that path valid.
            let integrations = dir.appendingPathComponent("Integrations")
            try FileManager.default.createDirectory(at: integrations, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: TestEnvironment.root.appendingPathComponent("Integrations/polybin.mk"),
                                             to: integrations.appendingPathComponent("polybin.mk"))
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("Examples"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: EmbedExamples.luaExample, to: dir.appendingPathComponent("Examples/lua-embed"))
        }

        var example: URL { dir.appendingPathComponent("Examples/lua-embed") }

        @discardableResult
        func make(_ arguments: [String] = []) throws -> ProcessResult {
            try run("make", ["-C", example.path, "POLYBIN=\(TestEnvironment.polybin)", "POLYBIN_BUILDDIR=\(build.path)"] + arguments)
        }

        func modified(_ name: String) throws -> Date {
            try #require(FileManager.default.attributesOfItem(atPath: build.appendingPathComponent(name).path)[.modificationDate] as? Date)
        }

        func remove() { try? FileManager.default.removeItem(at: dir) }
    }

    @Test func luaProgramRunsItsEmbeddedScriptsFromAnEmptyDirectory() throws {
        guard TestEnvironment.require("make", install: "apt-get install make") else { return }
        guard FileManager.default.fileExists(atPath: "/usr/include/lua5.4/lua.h") else {
            Issue.record("Lua 5.4 headers are missing: apt-get install liblua5.4-dev (tools/bootstrap does)")
            return
        }
        let lua = try LuaBuild(); defer { lua.remove() }
        let built = try lua.make()
        #expect(built.status == 0, "make: \(built.err)")

        let empty = try TestEnvironment.temporaryDirectory("polybin-lua-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        // No .lua file anywhere it could look: the copy of the scripts is gone too.
        try FileManager.default.removeItem(at: lua.example.appendingPathComponent("lua"))
        let result = try run(lua.program.path, [], environment: ["LUA_PATH": "", "LUA_PATH_5_4": "", "LUA_INIT": nil], cwd: empty)
        #expect(result.status == 0, "lua-app: \(result.err)")
        #expect(result.out == Self.luaOutput)
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty.path) == [])

        let named = try run(lua.program.path, ["Lua"], cwd: empty)
        #expect(named.out.hasPrefix("hello, Lua!\n"))
        #expect(try elfProblems(program: lua.program, symbol: "app_payload") == [])
    }

    /// The make rule: up to date after a build; editing one embedded file rebuilds the bundle
    /// object and relinks, and recompiles nothing else; adding a file rebuilds too.
    @Test func makeRebuildsExactlyWhatDependsOnAChangedFile() throws {
        guard TestEnvironment.require("make", install: "apt-get install make") else { return }
        let lua = try LuaBuild(); defer { lua.remove() }
        #expect(try lua.make().status == 0)
        #expect(try lua.make(["-q"]).status == 0, "not up to date right after a build")

        let before = (main: try lua.modified("main.o"), header: try lua.modified("app.h"),
                      object: try lua.modified("app.o"), program: try lua.modified("lua-app"))
        Thread.sleep(forTimeInterval: 1.1)  // mtimes must be able to differ
        let strings = lua.example.appendingPathComponent("lua/util/strings.lua")
        try Data("""
            local strings = {}
            function strings.shout(text) return text:upper() .. "!!!" end
            return strings

            """.utf8).write(to: strings)
        #expect(try lua.make(["-q"]).status != 0, "make does not see the edited script")
        let rebuilt = try lua.make()
        #expect(rebuilt.status == 0, "make: \(rebuilt.err)")
        #expect(try lua.modified("main.o") == before.main, "main.o was recompiled")
        #expect(try lua.modified("app.h") == before.header, "app.h was rewritten")
        #expect(try lua.modified("app.o") > before.object)
        #expect(try lua.modified("lua-app") > before.program)
        #expect(try run(lua.program.path).out.contains("MODULES COME FROM THE BUNDLE!!!\n"))
        #expect(try lua.make(["-q"]).status == 0)

        Thread.sleep(forTimeInterval: 1.1)
        try Data("return { answer = 42 }\n".utf8).write(to: lua.example.appendingPathComponent("lua/util/extra.lua"))
        #expect(try lua.make(["-q"]).status != 0, "make does not see the new file")
        #expect(try lua.make().status == 0)
        #expect(try LoadedBundle(path: lua.build.appendingPathComponent("app.o").path).entry(named: "util/extra.lua") != nil)
    }

    /// The example package, copied with its sources generated by polybin (they are not
    /// committed), builds and reads its embedded files by name through PolybinFiles.
    @Test func swiftPackageReadsItsEmbeddedFilesWithPolybinFiles() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-swift-embed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let example = dir.appendingPathComponent("swift-embed")
        try FileManager.default.copyItem(at: Self.swiftExample, to: example)
        try? FileManager.default.removeItem(at: example.appendingPathComponent(".build"))
        let manifest = example.appendingPathComponent("Package.swift")
        let text = try String(contentsOf: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "path: \"../..\"", with: "path: \"\(TestEnvironment.root.path)\"")
            .write(to: manifest, atomically: true, encoding: .utf8)
        let made = try run("make", ["-C", example.path, "POLYBIN=\(TestEnvironment.polybin)", "Sources/CAssets/assets.c"])
        #expect(made.status == 0, "make: \(made.err)")

        let scratch = dir.appendingPathComponent("build").path
        let built = try run("swift", ["build", "--package-path", example.path, "--scratch-path", scratch])
        #expect(built.status == 0, "swift build: \(built.err.suffix(2000))")
        let program = "\(scratch)/debug/show-assets"
        let result = try run(program, [], cwd: dir)
        #expect(result.status == 0, "show-assets: \(result.err)")
        #expect(result.out == """
            docs/long.txt: 23092 bytes, compressed
            greeting.txt: 37 bytes, in place
            Hello from a file inside the binary.
            docs/long.txt ends with: Line 400: the same words, again and again, compress well.
            missing.txt: not embedded
            assets_find("greeting.txt"): 37 bytes

            """)
        #expect(try run(program, ["greeting.txt", "nope"]).out == "Hello from a file inside the binary.\nnope: not embedded\n")
    }
}

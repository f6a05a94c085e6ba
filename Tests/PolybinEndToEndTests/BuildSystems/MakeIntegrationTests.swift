import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// Integrations/polybin.mk, driven through Examples/fatbin-demo's own Makefile and the polybin
/// under test. Each test builds a copy of the example, so touching its headers never disturbs
/// the tree; serialized because every build keeps both cores busy.
@Suite(.serialized) struct MakeIntegrationTests {
    /// Examples/fatbin-demo and Integrations/polybin.mk copied in the layout the example's
    /// Makefile expects, with a build directory and a fatbin cache beside them.
    struct Workspace {
        let root: URL
        var example: URL { root.appendingPathComponent("Examples/fatbin-demo") }
        var build: URL { root.appendingPathComponent("build") }
        var fatbin: String { build.appendingPathComponent("fatbin-demo").path }

        init() throws {
            root = try Scratch("make").root
            let files = FileManager.default
            try files.createDirectory(at: example, withIntermediateDirectories: true)
            try files.createDirectory(at: root.appendingPathComponent("Integrations"), withIntermediateDirectories: true)
            let source = TestEnvironment.root.appendingPathComponent("Examples/fatbin-demo")
            for name in try files.contentsOfDirectory(atPath: source.path)
            where name == "Makefile" || name.hasSuffix(".c") || name.hasSuffix(".h") {
                try files.copyItem(at: source.appendingPathComponent(name), to: example.appendingPathComponent(name))
            }
            try files.copyItem(at: TestEnvironment.root.appendingPathComponent("Integrations/polybin.mk"),
                               to: root.appendingPathComponent("Integrations/polybin.mk"))
        }

        func remove() { try? FileManager.default.removeItem(at: root) }

        /// `make` in the example directory; -O2 keeps the builds quick.
        @discardableResult
        func make(_ arguments: [String] = [], cflags: String = "-O2") throws -> ProcessResult {
            try run("make", ["--no-print-directory", "-C", example.path, "POLYBIN=\(TestEnvironment.polybin)",
                             "POLYBIN_BUILDDIR=\(build.path)", "POLYBIN_CFLAGS=\(cflags)"] + arguments,
                    environment: ["POLYBIN_RUNNER": TestEnvironment.runnerArchive])
        }

        func levelBuild(_ level: String) -> String { build.appendingPathComponent("\(level)/fatbin-demo").path }
        func object(_ level: String, _ name: String) -> String { build.appendingPathComponent("\(level)/\(name)").path }

        /// The level the fatbin runs, from the demo's `--level`.
        func fatbinLevel() throws -> String {
            let result = try run(fatbin, ["--level"], environment: ["POLYBIN_CACHE_DIR": root.appendingPathComponent("cache").path])
            #expect(result.status == 0, "fatbin failed: \(result.err)")
            return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func expectBuilt(_ result: ProcessResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0, "make failed (\(result.status)): \(result.err)", sourceLocation: sourceLocation)
    }

    @Test func buildsEachLevelInItsOwnDirectoryAndAFatbinThatRunsTheHostLevel() throws {
        guard BuildSystems.present(["make", "cc"]) else { return }
        let workspace = try Workspace()
        defer { workspace.remove() }
        expectBuilt(try workspace.make())

        let host = try hostLevel()
        let hostRank = try #require(BuildSystems.levels.firstIndex(of: host))
        for (rank, level) in BuildSystems.levels.enumerated() {
            let path = workspace.levelBuild(level)
            #expect(FileManager.default.isExecutableFile(atPath: path), "\(path) was not built")
            if rank <= hostRank {
                #expect(try run(path, ["--level"]).out == "\(level)\n")
            } else {
                // Too new an instruction set to run here: read the level string compiled into it.
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                let compiledIn = BuildSystems.levels.filter { bytes.range(of: Data("\($0)\0".utf8)) != nil }
                #expect(compiledIn == [level], "\(path) holds the level strings \(compiledIn)")
            }
        }
        #expect(try workspace.fatbinLevel() == host)
    }

    @Test func secondMakeHasNothingToDo() throws {
        guard BuildSystems.present(["make", "cc"]) else { return }
        let workspace = try Workspace()
        defer { workspace.remove() }
        expectBuilt(try workspace.make())
        let built = try modified(workspace.fatbin)

        #expect(try workspace.make(["-q"]).status == 0, "make -q says the fatbin is out of date right after building it")
        let again = try workspace.make()
        expectBuilt(again)
        #expect(again.out.contains("Nothing to be done"), "second make ran: \(again.out)")
        #expect(try modified(workspace.fatbin) == built)
    }

    @Test func editingAHeaderRebuildsExactlyTheObjectsIncludingIt() throws {
        guard BuildSystems.present(["make", "cc"]) else { return }
        let workspace = try Workspace()
        defer { workspace.remove() }
        expectBuilt(try workspace.make())
        let paths = BuildSystems.levels.flatMap { level in
            ["main.o", "kernel.o", "level.o"].map { workspace.object(level, $0) }
        } + [workspace.fatbin]
        let before = try Dictionary(uniqueKeysWithValues: paths.map { ($0, try modified($0)) })

        // kernel.h is included by kernel.c and main.c, not by level.c.
        try FileManager.default.setAttributes([.modificationDate: Date()],
                                              ofItemAtPath: workspace.example.appendingPathComponent("kernel.h").path)
        expectBuilt(try workspace.make())

        for level in BuildSystems.levels {
            for object in ["main.o", "kernel.o"] {
                let path = workspace.object(level, object)
                #expect(try modified(path) > before[path]!, "\(path) was not rebuilt")
            }
            let untouched = workspace.object(level, "level.o")
            #expect(try modified(untouched) == before[untouched]!, "\(untouched) was rebuilt")
        }
        #expect(try modified(workspace.fatbin) > before[workspace.fatbin]!, "the fatbin was not relinked")
        #expect(try workspace.fatbinLevel() == hostLevel())
        #expect(try workspace.make(["-q"]).status == 0)
    }

    @Test func changingTheFlagsRebuildsEveryLevel() throws {
        guard BuildSystems.present(["make", "cc"]) else { return }
        let workspace = try Workspace()
        defer { workspace.remove() }
        expectBuilt(try workspace.make(cflags: "-O2"))
        let objects = BuildSystems.levels.map { workspace.object($0, "level.o") }
        let before = try objects.map(modified)

        expectBuilt(try workspace.make(cflags: "-O1"))
        for (path, then) in zip(objects, before) {
            #expect(try modified(path) > then, "\(path) kept its -O2 build")
        }
        #expect(try workspace.make(["-q"], cflags: "-O1").status == 0)
        #expect(try workspace.make(["-q"], cflags: "-O2").status == 1)
    }

    @Test func parallelBuildFromCleanWorks() throws {
        guard BuildSystems.present(["make", "cc"]) else { return }
        let workspace = try Workspace()
        defer { workspace.remove() }
        expectBuilt(try workspace.make())
        expectBuilt(try workspace.make(["polybin-clean"]))
        #expect(!FileManager.default.fileExists(atPath: workspace.fatbin))
        #expect(!FileManager.default.fileExists(atPath: workspace.levelBuild("x86-64")))

        expectBuilt(try workspace.make(["-j2"]))
        #expect(try workspace.fatbinLevel() == hostLevel())
        #expect(try workspace.make(["-q"]).status == 0)
    }

    @Test func buildCommandRunsOncePerLevelWithItsVariables() throws {
        guard BuildSystems.present(["make", "cc"]) else { return }
        let workspace = try Workspace()
        defer { workspace.remove() }
        // The make variables build; the environment variables must agree with them.
        let makefile = """
            POLYBIN_PROGRAM := fatbin-demo
            POLYBIN_BUILD_COMMAND = test "$$LEVEL $$MARCH_FLAGS $$OUT" = "$(LEVEL) $(MARCH_FLAGS) $(OUT)" \
            && cc -O2 $(MARCH_FLAGS) -o $(OUT) main.c kernel.c level.c
            include ../../Integrations/polybin.mk

            """
        try Data(makefile.utf8).write(to: workspace.example.appendingPathComponent("Makefile"))
        expectBuilt(try workspace.make(["-j2"]))
        for level in BuildSystems.levels {
            #expect(FileManager.default.isExecutableFile(atPath: workspace.levelBuild(level)), "\(level) was not built")
        }
        #expect(try workspace.fatbinLevel() == hostLevel())

        // The command runs again, but identical builds leave the packed fatbin alone.
        let bundle = workspace.build.appendingPathComponent("fatbin-demo.bundle").path
        let packed = try modified(bundle)
        let again = try workspace.make()
        expectBuilt(again)
        #expect(again.out.contains("-march=x86-64-v4 -o"), "the build command did not run again: \(again.out)")
        #expect(try modified(bundle) == packed, "unchanged builds were repacked")
    }

    /// A checkout whose path has a space (here a copy of polybin.mk beside links to the
    /// polybin and runner under test, under "sp ace/"): the fragment runs polybin quoted and
    /// builds, from sources and through a build command whose OUT has the space; an include
    /// through `\ `, which make splits in MAKEFILE_LIST, and an output with a space are each
    /// said in one line instead of "not found; run tools/bootstrap" or "test: unexpected operator".
    @Test func aCheckoutPathWithASpaceBuildsOrSaysSoInOneLine() throws {
        guard BuildSystems.present(["make", "cc"]) else { return }
        let root = try TestEnvironment.temporaryDirectory("polybin-make-space")
        defer { try? FileManager.default.removeItem(at: root) }
        let files = FileManager.default
        let checkout = root.appendingPathComponent("sp ace/checkout")
        let project = checkout.appendingPathComponent("project")
        try files.createDirectory(at: checkout.appendingPathComponent("Integrations"), withIntermediateDirectories: true)
        try files.createDirectory(at: checkout.appendingPathComponent(".build/release"), withIntermediateDirectories: true)
        try files.createDirectory(at: project, withIntermediateDirectories: true)
        try files.copyItem(at: TestEnvironment.root.appendingPathComponent("Integrations/polybin.mk"),
                           to: checkout.appendingPathComponent("Integrations/polybin.mk"))
        try files.createSymbolicLink(atPath: checkout.appendingPathComponent(".build/release/polybin").path,
                                     withDestinationPath: TestEnvironment.polybin)
        try files.createSymbolicLink(atPath: checkout.appendingPathComponent(".build/release/libPolybinRunner.a").path,
                                     withDestinationPath: TestEnvironment.runnerArchive)
        for name in ["main.c", "kernel.c", "kernel.h", "level.c", "level.h"] {
            try files.copyItem(at: TestEnvironment.root.appendingPathComponent("Examples/fatbin-demo/\(name)"),
                               to: project.appendingPathComponent(name))
        }
        let write = { (name: String, text: String) in try Data(text.utf8).write(to: project.appendingPathComponent(name)) }
        // No polybin on PATH: the fragment finds the checkout's, whose path has the space.
        let environment: [String: String?] = ["PATH": "/usr/bin:/bin", "POLYBIN_RUNNER": nil, "POLYBIN": nil]
        let make = { (arguments: [String]) in try run("make", ["--no-print-directory", "-C", project.path] + arguments, environment: environment) }

        try write("Makefile", """
            POLYBIN_PROGRAM := demo
            POLYBIN_SOURCES := main.c kernel.c level.c
            POLYBIN_LEVELS  := x86-64 x86-64-v2
            POLYBIN_CFLAGS  := -O1
            include ../Integrations/polybin.mk

            """)
        let built = try make([])
        #expect(built.status == 0, "\(built.err)")
        #expect(built.out.contains("'\(checkout.path)/.build/release/polybin' link"), "\(built.out)")
        #expect(try make(["-q"]).status == 0, "not up to date after a build")

        try write("Command.mk", """
            POLYBIN_PROGRAM := command
            POLYBIN_LEVELS  := x86-64 x86-64-v2
            POLYBIN_BUILD_COMMAND = cc -O1 $(MARCH_FLAGS) -o "$$OUT" main.c kernel.c level.c
            include ../Integrations/polybin.mk

            """)
        let command = try make(["-f", "Command.mk"])
        #expect(command.status == 0, "\(command.err)")
        #expect(files.isExecutableFile(atPath: project.appendingPathComponent("build/command").path))

        // Included through the path with its space escaped: one line, naming the way out.
        try write("Escaped.mk", """
            POLYBIN_PROGRAM := escaped
            POLYBIN_SOURCES := main.c kernel.c level.c
            include \(root.path)/sp\\ ace/checkout/Integrations/polybin.mk

            """)
        let escaped = try make(["-f", "Escaped.mk"])
        #expect(escaped.status != 0)
        #expect(escaped.err.contains("included through a path with a space") && escaped.err.split(separator: "\n").count == 1, "\(escaped.err)")

        // An output with a space: one line before any work.
        let spaced = try make(["POLYBIN_BUILDDIR=out dir"])
        #expect(spaced.status != 0)
        #expect(spaced.err.contains("POLYBIN_BUILDDIR \"out dir\" has a space") && spaced.err.split(separator: "\n").count == 1, "\(spaced.err)")
        #expect(!files.fileExists(atPath: project.appendingPathComponent("out").path))
    }
}

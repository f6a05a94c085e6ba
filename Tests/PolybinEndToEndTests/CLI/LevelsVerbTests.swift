import Foundation
import Testing
import PolybinKit
import PolybinTestSupport

/// `polybin levels` is how make and CMake learn the level list: it prints the library's
/// (cpu/features.c) names for one architecture, lowest first, one per line.
@Suite struct LevelsVerbTests {
    @Test(arguments: Architecture.allCases)
    func levelsPrintsTheLibrarysListLowestFirst(arch: Architecture) throws {
        let result = try run(TestEnvironment.polybin, ["levels", "--arch", arch.name])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == arch.levelNames.joined(separator: "\n") + "\n")
        #expect(arch.levelNames.count == 4 && arch.levelNames.allSatisfy { Level.parse(Substring($0), arch: arch) != nil })
    }

    @Test func withoutArchItListsThisMachinesArchitecture() throws {
        let result = try run(TestEnvironment.polybin, ["levels"])
        #expect(result.out == Architecture.host.levelNames.joined(separator: "\n") + "\n")
    }

    @Test func theFlavorHelpNamesEveryLevel() throws {
        let help = try run(TestEnvironment.polybin, ["build", "--help"]).out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for name in Architecture.allCases.flatMap(\.levelNames) { #expect(help.contains(name), "build --help lacks \(name)") }
    }

    /// polybin.mk asks `$(POLYBIN) levels --arch $(POLYBIN_ARCH)` for its defaults and checks.
    @Test func polybinMkTakesItsLevelsFromPolybin() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-levels-mk")
        defer { try? FileManager.default.removeItem(at: dir) }
        let makefile = """
            POLYBIN_PROGRAM := app
            POLYBIN_SOURCES := app.c
            include \(TestEnvironment.root.appendingPathComponent("Integrations/polybin.mk").path)
            show: ; @echo $(POLYBIN_LEVELS)
            """
        try makefile.write(to: dir.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
        for arch in Architecture.allCases {
            let shown = try run("make", ["-s", "-C", dir.path, "show", "POLYBIN=\(TestEnvironment.polybin)", "POLYBIN_ARCH=\(arch.name)"])
            #expect(shown.out == arch.levelNames.joined(separator: " ") + "\n", "\(shown.err)")
        }
        let unknown = try run("make", ["-s", "-C", dir.path, "show", "POLYBIN=\(TestEnvironment.polybin)", "POLYBIN_LEVELS=x86-64 x86-64-v9"])
        #expect(unknown.status != 0)
        #expect(unknown.err.contains("unknown x86-64 level x86-64-v9 (use \(Architecture.x86_64.levelNames.joined(separator: " ")))"), "\(unknown.err)")
        let missing = try run("make", ["-s", "-C", dir.path, "show", "POLYBIN=\(dir.path)/no-polybin"])
        #expect(missing.err.contains("listed no levels: run tools/bootstrap, or set POLYBIN to the polybin binary"), "\(missing.err)")
    }
}

import Foundation
import Testing

/// Templates/cmake through find_package(Polybin), on brotli's own CMake project from Debian's
/// source package (unmodified; a copy, so the test can edit it): configure, a fatbin of the
/// brotli CLI at two levels, an embed with a depfile, and edits that must rebuild.
@Suite(.serialized) struct CMakeIntegrationTests {
    static let levels = ["x86-64", "x86-64-v3"]

    struct Workspace {
        let root: URL
        var project: URL { root.appendingPathComponent("project") }
        var brotli: URL { root.appendingPathComponent("brotli") }
        var build: URL { root.appendingPathComponent("build") }
        var fatbin: String { build.appendingPathComponent("fatbin/brotli").path }
        var embedDemo: String { build.appendingPathComponent("embed-demo").path }

        /// A project that adds brotli's CMake build as a subdirectory, packs its CLI and embeds
        /// a directory into a program of its own.
        init(generator: String) throws {
            root = try TestEnvironment.temporaryDirectory("polybin-cmake")
            let source = try run(TestEnvironment.root.appendingPathComponent("tools/debian-source").path, ["brotli"])
            #expect(source.status == 0, "tools/debian-source brotli: \(source.err)")
            let tree = source.out.trimmingCharacters(in: .whitespacesAndNewlines)
            let copied = try run("cp", ["-R", tree, brotli.path])
            #expect(copied.status == 0, "cp: \(copied.err)")
            try shell("chmod -R u+w '\(brotli.path)'")
            let files = FileManager.default
            try files.createDirectory(at: project.appendingPathComponent("data/docs"), withIntermediateDirectories: true)
            try """
                cmake_minimum_required(VERSION 3.20)
                project(polybin_cmake_test C)
                add_subdirectory("${BROTLI_SOURCE}" brotli)
                find_package(Polybin 0.1 REQUIRED)
                polybin_add_fatbin(brotli LEVELS \(CMakeIntegrationTests.levels.joined(separator: " ")) ZSTD_LEVEL 3)
                add_executable(embed-demo main.c)
                polybin_embed(embed-demo assets data COMPRESS)

                """.write(to: project.appendingPathComponent("CMakeLists.txt"), atomically: true, encoding: .utf8)
            try """
                #include <stdio.h>
                #include <stdlib.h>
                #include "assets.h"

                int main(int argc, char **argv) {
                    for (size_t i = 0; i < assets_count(); i++) {
                        const polybin_file *f = assets_at(i);
                        char *text = malloc(f->size + 1);
                        if (!text || assets_read(f, text, f->size) != (long long)f->size) return 1;
                        text[f->size] = 0;
                        printf("%s: %s", f->name, text);
                        free(text);
                    }
                    return 0;
                }

                """.write(to: project.appendingPathComponent("main.c"), atomically: true, encoding: .utf8)
            try "hello\n".write(to: project.appendingPathComponent("data/greeting.txt"), atomically: true, encoding: .utf8)
            try "notes\n".write(to: project.appendingPathComponent("data/docs/notes.txt"), atomically: true, encoding: .utf8)

            let configured = try run("cmake", ["-G", generator, "-S", project.path, "-B", build.path,
                                               "-DCMAKE_BUILD_TYPE=Release", "-DBROTLI_SOURCE=\(brotli.path)",
                                               "-DPolybin_DIR=\(TestEnvironment.root.appendingPathComponent("Templates/cmake").path)",
                                               "-DPOLYBIN_EXECUTABLE=\(TestEnvironment.polybin)",
                                               "-DPOLYBIN_RUNNER=\(TestEnvironment.runnerArchive)"])
            #expect(configured.status == 0, "cmake configure: \(configured.err.suffix(3000))")
        }

        func remove() { try? FileManager.default.removeItem(at: root) }

        @discardableResult
        func cmakeBuild(_ targets: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
            let result = try run("cmake", ["--build", build.path, "-j", "2", "--target"] + targets)
            #expect(result.status == 0, "cmake --build: \(result.err.suffix(3000))\(result.out.suffix(3000))", sourceLocation: sourceLocation)
            return result
        }

        func runFatbin(_ arguments: [String], stdin: Data? = nil) throws -> ProcessResult {
            try run(fatbin, arguments, environment: ["POLYBIN_CACHE_DIR": root.appendingPathComponent("cache").path], stdin: stdin)
        }

        func levelBuild(_ level: String) -> String { build.appendingPathComponent("polybin-brotli/\(level).exe/brotli").path }
    }

    @Test func brotliCLIBecomesAFatbinAndAnEditedSourceRebuildsIt() throws {
        guard BuildSystems.present(["cmake", "make", "cc"]) else { return }
        let workspace = try Workspace(generator: "Unix Makefiles")
        defer { workspace.remove() }
        try workspace.cmakeBuild(["brotli_fatbin"])

        // Each level is its own tree, configured with -march=LEVEL, and the two builds differ.
        for level in Self.levels {
            let cache = try String(contentsOf: workspace.build.appendingPathComponent("polybin-brotli/\(level)/CMakeCache.txt"), encoding: .utf8)
            #expect(cache.contains("-march=\(level)"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: workspace.levelBuild("x86-64")))
                != Data(contentsOf: URL(fileURLWithPath: workspace.levelBuild("x86-64-v3"))))
        let inspect = try run(TestEnvironment.polybin, ["inspect", workspace.fatbin])
        #expect(inspect.status == 0, "inspect: \(inspect.err)")
        for level in Self.levels { #expect(inspect.out.contains(level), "\(inspect.out)") }

        // The fatbin is the brotli CLI: a round trip through it gives the input back.
        let input = Data((0..<20000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) })
        let compressed = try workspace.runFatbin(["-c"], stdin: input)
        #expect(compressed.status == 0, "brotli -c: \(compressed.err)")
        #expect(compressed.stdout.count < input.count)
        let decompressed = try workspace.runFatbin(["-d", "-c"], stdin: compressed.stdout)
        #expect(decompressed.stdout == input)
        #expect(try workspace.runFatbin(["--version"]).out == "brotli 1.0.9\n")

        // Nothing changed: nothing is repacked.
        let packed = try BuildSystems.modified(workspace.fatbin)
        try workspace.cmakeBuild(["brotli_fatbin"])
        #expect(try BuildSystems.modified(workspace.fatbin) == packed, "an unchanged project was repacked")

        // An edited source of brotli's rebuilds every level and repacks.
        let cli = workspace.brotli.appendingPathComponent("c/tools/brotli.c")
        let text = try String(contentsOf: cli, encoding: .utf8)
        #expect(text.contains(#""brotli %d.%d.%d\n""#))
        try text.replacingOccurrences(of: #""brotli %d.%d.%d\n""#, with: #""brotli %d.%d.%d (edited)\n""#)
            .write(to: cli, atomically: true, encoding: .utf8)
        try workspace.cmakeBuild(["brotli_fatbin"])
        #expect(try workspace.runFatbin(["--version"]).out == "brotli 1.0.9 (edited)\n")
        for level in Self.levels {
            let extracted = workspace.root.appendingPathComponent("extracted-\(level)").path
            #expect(try run(TestEnvironment.polybin, ["extract", workspace.fatbin, "--flavor", level, "-o", extracted]).status == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: extracted)) == Data(contentsOf: URL(fileURLWithPath: workspace.levelBuild(level))))
        }
    }

    @Test(arguments: ["Unix Makefiles", "Ninja"])
    func embedDependsOnEveryInputThroughTheDepfile(generator: String) throws {
        guard BuildSystems.present(["cmake", generator == "Ninja" ? "ninja" : "make", "cc"]) else { return }
        let workspace = try Workspace(generator: generator)
        defer { workspace.remove() }
        try workspace.cmakeBuild(["embed-demo"])
        #expect(try run(workspace.embedDemo).out == "docs/notes.txt: notes\ngreeting.txt: hello\n")

        // Editing a file in place, adding one and removing one each re-embed and relink.
        try "hello again\n".write(to: workspace.project.appendingPathComponent("data/greeting.txt"), atomically: false, encoding: .utf8)
        try workspace.cmakeBuild(["embed-demo"])
        #expect(try run(workspace.embedDemo).out == "docs/notes.txt: notes\ngreeting.txt: hello again\n")
        try "new\n".write(to: workspace.project.appendingPathComponent("data/docs/new.txt"), atomically: false, encoding: .utf8)
        try workspace.cmakeBuild(["embed-demo"])
        #expect(try run(workspace.embedDemo).out == "docs/new.txt: new\ndocs/notes.txt: notes\ngreeting.txt: hello again\n")
        try FileManager.default.removeItem(at: workspace.project.appendingPathComponent("data/docs/notes.txt"))
        try workspace.cmakeBuild(["embed-demo"])
        #expect(try run(workspace.embedDemo).out == "docs/new.txt: new\ngreeting.txt: hello again\n")
    }
}

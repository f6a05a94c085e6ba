import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// Integrations/cmake through find_package(Polybin), on brotli's own CMake project from Debian's
/// source package (unmodified, fetched once into the build cache by tools/debian-source and
/// copied here so the test can edit it): configure, a fatbin of the brotli CLI at two levels
/// built in parallel, a no-op rebuild that repacks nothing, an edit that rebuilds every level,
/// and an embed whose every input is a dependency.
@Suite(.serialized) struct CMakeIntegrationTests {
    /// The baseline and v3, as the library names them.
    static let levels = [0, 2].map { Architecture.x86_64.levelNames[$0] }

    /// A project of the test's own that adds brotli's CMake build as a subdirectory, packs
    /// its CLI and embeds a directory into a small program.
    struct Project {
        let scratch: Scratch
        var brotli: URL { scratch.url("brotli") }
        var build: URL { scratch.build }
        var fatbin: String { build.appendingPathComponent("fatbin/brotli").path }
        var embedDemo: String { build.appendingPathComponent("embed-demo").path }

        /// With `brotli` false, only the embed part (no brotli, no fatbin).
        init(generator: String, brotli withBrotli: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
            scratch = try Scratch("cmake")
            try scratch.write("""
                cmake_minimum_required(VERSION 3.20)
                project(polybin_cmake_test C)
                find_package(Polybin 0.1 REQUIRED)
                if(WITH_BROTLI)
                    add_subdirectory("${BROTLI_SOURCE}" brotli)
                    # -O1 instead of Release's -O3 keeps the test quick; CMAKE_ARGS reach every level.
                    polybin_add_fatbin(brotli LEVELS \(CMakeIntegrationTests.levels.joined(separator: " ")) ZSTD_LEVEL 3
                                       CMAKE_ARGS -DCMAKE_C_FLAGS_RELEASE=-O1)
                endif()
                add_executable(embed-demo main.c)
                polybin_embed(embed-demo assets data COMPRESS)

                """, to: "project/CMakeLists.txt")
            var brotliArguments = ["-DWITH_BROTLI=OFF"]
            if withBrotli {
                let source = BuildSystems.succeeded(try run(TestEnvironment.root.appendingPathComponent("tools/debian-source").path, ["brotli"]),
                                                    "tools/debian-source brotli", sourceLocation: sourceLocation)
                let tree = source.out.trimmingCharacters(in: .whitespacesAndNewlines)
                BuildSystems.succeeded(try run("cp", ["-R", tree, brotli.path]), "cp", sourceLocation: sourceLocation)
                BuildSystems.succeeded(try run("chmod", ["-R", "u+w", brotli.path]), "chmod", sourceLocation: sourceLocation)
                brotliArguments = ["-DWITH_BROTLI=ON", "-DBROTLI_SOURCE=\(brotli.path)"]
            }
            try scratch.write("""
                #include <stdio.h>
                #include <stdlib.h>
                #include "assets.h"

                int main(void) {
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

                """, to: "project/main.c")
            try scratch.write("hello\n", to: "project/data/greeting.txt")
            try scratch.write("notes\n", to: "project/data/docs/notes.txt")
            BuildSystems.succeeded(try run("cmake", ["-G", generator, "-S", scratch.path("project"), "-B", build.path,
                                                     "-DCMAKE_BUILD_TYPE=Release"] + brotliArguments + [
                                                     "-DPolybin_DIR=\(TestEnvironment.root.appendingPathComponent("Integrations/cmake").path)",
                                                     "-DPOLYBIN_EXECUTABLE=\(TestEnvironment.polybin)",
                                                     "-DPOLYBIN_RUNNER=\(TestEnvironment.runnerArchive)"]),
                                   "cmake configure (\(generator))", sourceLocation: sourceLocation)
        }

        /// `cmake --build -j 4`: more jobs than cores, so the level builds run side by side.
        @discardableResult
        func cmakeBuild(_ target: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
            BuildSystems.succeeded(try run("cmake", ["--build", build.path, "-j", "4", "--target", target]),
                                   "cmake --build --target \(target)", sourceLocation: sourceLocation)
        }

        func levelBuild(_ level: String) -> String { build.appendingPathComponent("polybin-brotli/\(level).exe/brotli").path }
        func data(_ name: String) -> URL { scratch.url("project/data/\(name)") }
    }

    @Test func brotliCLIBecomesAFatbinAndAnEditedSourceRebuildsIt() throws {
        guard BuildSystems.present(["cmake", "make", "cc"]) else { return }
        let project = try Project(generator: "Unix Makefiles")
        defer { project.scratch.remove() }
        try project.cmakeBuild("brotli_fatbin")

        // Each level is its own tree, configured with -march=LEVEL, and the builds differ.
        for level in Self.levels {
            let cache = try String(contentsOf: project.build.appendingPathComponent("polybin-brotli/\(level)/CMakeCache.txt"), encoding: .utf8)
            #expect(cache.contains("-march=\(level)"))
            #expect(cache.contains("CMAKE_C_FLAGS_RELEASE:STRING=-O1"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: project.levelBuild("x86-64")))
                != Data(contentsOf: URL(fileURLWithPath: project.levelBuild("x86-64-v3"))))
        let inspect = BuildSystems.succeeded(try run(TestEnvironment.polybin, ["inspect", project.fatbin]), "inspect")
        for level in Self.levels { #expect(inspect.out.contains(level), "\(inspect.out)") }

        // The fatbin is the brotli CLI: it picks this machine's best level, and a round trip
        // through it gives the input back.
        let explain = try run(project.fatbin, environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(explain.out.split(separator: "\n").last.map(String.init) == "selected: \(try BuildSystems.expectedLevel(of: Self.levels))",
                "\(explain.out)")
        let input = Data((0..<20000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) })
        let compressed = BuildSystems.succeeded(try project.scratch.runFatbin(project.fatbin, ["-c"], stdin: input), "brotli -c")
        #expect(compressed.stdout.count < input.count / 4)
        let decompressed = try project.scratch.runFatbin(project.fatbin, ["-d", "-c"], stdin: compressed.stdout)
        #expect(decompressed.stdout == input)
        #expect(try project.scratch.runFatbin(project.fatbin, ["--version"]).out == "brotli 1.0.9\n")

        // Nothing changed: nothing is repacked.
        let packed = try modified(project.fatbin)
        try project.cmakeBuild("brotli_fatbin")
        #expect(try modified(project.fatbin) == packed, "an unchanged project was repacked")

        // An edited source of brotli's rebuilds every level and repacks.
        let cli = project.brotli.appendingPathComponent("c/tools/brotli.c")
        let text = try String(contentsOf: cli, encoding: .utf8)
        #expect(text.contains(#""brotli %d.%d.%d\n""#))
        try text.replacingOccurrences(of: #""brotli %d.%d.%d\n""#, with: #""brotli %d.%d.%d (edited)\n""#)
            .write(to: cli, atomically: true, encoding: .utf8)
        try project.cmakeBuild("brotli_fatbin")
        #expect(try project.scratch.runFatbin(project.fatbin, ["--version"]).out == "brotli 1.0.9 (edited)\n")
        for level in Self.levels {
            let build = try Data(contentsOf: URL(fileURLWithPath: project.levelBuild(level)))
            #expect(try project.scratch.extract(project.fatbin, level) == build)
            #expect(build.range(of: Data("(edited)".utf8)) != nil, "\(level) was not rebuilt")
        }
    }

    @Test(arguments: ["Unix Makefiles", "Ninja"])
    func embedDependsOnEveryInput(generator: String) throws {
        guard BuildSystems.present(["cmake", generator == "Ninja" ? "ninja" : "make", "cc"]) else { return }
        let project = try Project(generator: generator, brotli: false)
        defer { project.scratch.remove() }
        try project.cmakeBuild("embed-demo")
        #expect(try run(project.embedDemo).out == "docs/notes.txt: notes\ngreeting.txt: hello\n")

        // Nothing changed: nothing is embedded or linked again.
        let linked = try modified(project.embedDemo)
        try project.cmakeBuild("embed-demo")
        #expect(try modified(project.embedDemo) == linked, "an unchanged embed was relinked")

        // Editing a file in place, adding one and removing one each re-embed and relink.
        try "hello again\n".write(to: project.data("greeting.txt"), atomically: false, encoding: .utf8)
        try project.cmakeBuild("embed-demo")
        #expect(try run(project.embedDemo).out == "docs/notes.txt: notes\ngreeting.txt: hello again\n")
        try "new\n".write(to: project.data("docs/new.txt"), atomically: false, encoding: .utf8)
        try project.cmakeBuild("embed-demo")
        #expect(try run(project.embedDemo).out == "docs/new.txt: new\ndocs/notes.txt: notes\ngreeting.txt: hello again\n")
        try FileManager.default.removeItem(at: project.data("docs/notes.txt"))
        try project.cmakeBuild("embed-demo")
        #expect(try run(project.embedDemo).out == "docs/new.txt: new\ngreeting.txt: hello again\n")
    }
}

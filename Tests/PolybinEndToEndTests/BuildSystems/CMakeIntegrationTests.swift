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

        /// With `brotli` false, only the embed part and the small `hello` fatbin (no brotli).
        /// `minimum` is the CMake version the project declares.
        init(generator: String, brotli withBrotli: Bool = true, minimum: String = "3.20",
             sourceLocation: SourceLocation = #_sourceLocation) throws {
            scratch = try Scratch("cmake")
            try scratch.write("""
                cmake_minimum_required(VERSION \(minimum))
                project(polybin_cmake_test C)
                find_package(Polybin 0.1 REQUIRED)
                if(WITH_BROTLI)
                    add_subdirectory("${BROTLI_SOURCE}" brotli)
                    # -O1 instead of Release's -O3 keeps the test quick; CMAKE_ARGS reach every level.
                    polybin_add_fatbin(brotli LEVELS \(CMakeIntegrationTests.levels.joined(separator: " ")) ZSTD_LEVEL 3
                                       CMAKE_ARGS -DCMAKE_C_FLAGS_RELEASE=-O1)
                endif()
                add_executable(hello hello.c)
                polybin_add_fatbin(hello LEVELS \(CMakeIntegrationTests.levels.joined(separator: " ")) ZSTD_LEVEL 3)
                add_executable(embed-demo main.c)
                polybin_embed(embed-demo assets data COMPRESS)

                """, to: "project/CMakeLists.txt")
            try scratch.write("""
                #include <stdio.h>
                int main(void) { puts("hello"); return 0; }

                """, to: "project/hello.c")
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

        var helloFatbin: String { build.appendingPathComponent("fatbin/hello").path }
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

    /// Under Ninja a level runs only when a file its build read changed: on an unchanged tree
    /// `ninja -n` has nothing to do (the level steps used to run every time, so it claimed a
    /// repack), a touched source with the same result rebuilds the levels without repacking,
    /// and an edit repacks.
    @Test func anUnchangedNinjaFatbinTreeHasNothingToDo() throws {
        guard BuildSystems.present(["cmake", "ninja", "cc"]) else { return }
        let project = try Project(generator: "Ninja", brotli: false)
        defer { project.scratch.remove() }
        try project.cmakeBuild("hello_fatbin")
        let dryRun = { try run("ninja", ["-C", project.build.path, "-n", "hello_fatbin"]).out }
        let idle1 = try dryRun()
        #expect(idle1.contains("no work to do"), "\(idle1)")
        let packed = try modified(project.helloFatbin)

        let source = project.scratch.url("project/hello.c")
        try "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n".write(to: source, atomically: false, encoding: .utf8)
        #expect(try dryRun().contains("Building hello at x86-64"))
        try project.cmakeBuild("hello_fatbin")
        #expect(try modified(project.helloFatbin) == packed, "the same builds were repacked")
        let idle2 = try dryRun()
        #expect(idle2.contains("no work to do"), "\(idle2)")

        try "#include <stdio.h>\nint main(void) { puts(\"edited\"); return 0; }\n".write(to: source, atomically: false, encoding: .utf8)
        try project.cmakeBuild("hello_fatbin")
        #expect(try project.scratch.runFatbin(project.helloFatbin).out == "edited\n")
        let idle3 = try dryRun()
        #expect(idle3.contains("no work to do"), "\(idle3)")
    }

    /// A project that declares an old CMake minimum (brotli 1.0.9 declares 2.8.6, and so do
    /// many real projects) leaves CMP0057 (`IN_LIST`) and every newer policy OLD; the package
    /// sets its own, so both of its functions work there, under both generators.
    @Test(arguments: ["Unix Makefiles", "Ninja"])
    func bothFunctionsWorkInAProjectDeclaringAnOldMinimum(generator: String) throws {
        guard BuildSystems.present(["cmake", generator == "Ninja" ? "ninja" : "make", "cc"]) else { return }
        let project = try Project(generator: generator, brotli: false, minimum: "2.8.6")
        defer { project.scratch.remove() }
        try project.cmakeBuild("hello_fatbin")
        let inspect = BuildSystems.succeeded(try run(TestEnvironment.polybin, ["inspect", project.helloFatbin]), "inspect")
        for level in Self.levels { #expect(inspect.out.contains(level), "\(inspect.out)") }
        #expect(try project.scratch.runFatbin(project.helloFatbin).out == "hello\n")
        try project.cmakeBuild("embed-demo")
        #expect(try run(project.embedDemo).out == "docs/notes.txt: notes\ngreeting.txt: hello\n")
    }
}

/// polybin_embed's dependencies under both CMake generators, for the awkward names of the
/// make test (EmbedSafetyTests.depfilesKeepMakeCorrect): each name the generator can carry
/// gives a second build that does nothing (and `ninja -n` with nothing to do), an edit that
/// re-embeds, and a deletion that rebuilds once, after which a build does nothing again; each
/// Ninja's depfile cannot spell is refused at pack time with one line naming the file, and
/// the build works again once it is renamed. Makefiles (no depfile: a check with find) carry
/// every one.
@Suite(.serialized) struct CMakeDepfileTests {
    static let carried: [String: [String]] = [
        "Ninja": ["k=v.txt", "12:30.log", "x%y.txt", "sp ace", "has#hash", "dollar$x", "br[a].txt",
                  "back\\slash", "a\\;b", "a\\ b", "a\\=b", "a\\#b", "dir $=#:%/in.txt"],
        "Unix Makefiles": ["k=v.txt", "12:30.log", "semi;colon", "x%y.txt", "sp ace", "has#hash", "dollar$x", "star*.txt",
                           "br[a].txt", "pi|pe", "back\\slash", "end\\", "quote'd", "ends:", "dir $=#:%;/in.txt"],
    ]
    static let refused: [String: [String]] = [
        "Ninja": ["semi;colon", "star*.txt", "q?.txt", "pi|pe", "ends:", "end\\"],
        "Unix Makefiles": [],
    ]
    static let cases = carried.flatMap { generator, names in names.map { [generator, $0] } }
        + refused.flatMap { generator, names in names.map { [generator, $0] } }

    @Test(arguments: cases)
    func embedsAwkwardNamesOrRefusesThemWithTheirName(_ generatorAndName: [String]) throws {
        let (generator, name) = (generatorAndName[0], generatorAndName[1])
        guard BuildSystems.present(["cmake", generator == "Ninja" ? "ninja" : "make", "cc"]) else { return }
        let scratch = try Scratch("cmake-depfile")
        defer { scratch.remove() }
        try scratch.write("""
            cmake_minimum_required(VERSION 3.20)
            project(depfile_test C)
            find_package(Polybin REQUIRED)
            add_executable(demo main.c)
            polybin_embed(demo assets data)

            """, to: "project/CMakeLists.txt")
        try scratch.write("""
            #include <stdio.h>
            #include "assets.h"
            int main(void) {
                for (size_t i = 0; i < assets_count(); i++) printf("%s=%llu\\n", assets_at(i)->name, (unsigned long long)assets_at(i)->size);
                return 0;
            }

            """, to: "project/main.c")
        try scratch.write("plain\n", to: "project/data/plain.txt")
        try scratch.write("first\n", to: "project/data/\(name)")
        let demo = scratch.build.appendingPathComponent("demo").path
        BuildSystems.succeeded(try run("cmake", ["-G", generator, "-S", scratch.path("project"), "-B", scratch.build.path,
                                                 "-DPolybin_DIR=\(TestEnvironment.root.appendingPathComponent("Integrations/cmake").path)",
                                                 "-DPOLYBIN_EXECUTABLE=\(TestEnvironment.polybin)"]), "cmake configure (\(generator))")
        let build = { try run("cmake", ["--build", scratch.build.path]) }

        if Self.refused[generator]!.contains(name) {
            let refusal = try build()
            #expect(refusal.status != 0)
            let lines = (refusal.out + refusal.err).split(separator: "\n").filter { $0.contains("polybin: ") && $0.contains("cannot name this file") }
            #expect(lines.count == 1, "\(refusal.out)\(refusal.err)")
            #expect(lines.first.map { $0.contains(String(reflecting: name).dropFirst().dropLast()) } == true, "\(lines)")
            // Renamed: the build works, nothing is left broken.
            try FileManager.default.moveItem(at: scratch.url("project/data/\(name)"), to: scratch.url("project/data/renamed.txt"))
            BuildSystems.succeeded(try build(), "build after the rename")
            #expect(try run(demo).out == "plain.txt=6\nrenamed.txt=6\n")
            return
        }

        BuildSystems.succeeded(try build(), "first build")
        #expect(try run(demo).out.split(separator: "\n").contains("\(name)=6"))
        // Nothing changed: nothing runs, and Ninja says so without running anything.
        let linked = try modified(demo)
        BuildSystems.succeeded(try build(), "second build")
        #expect(try modified(demo) == linked, "an unchanged embed of \(name) was relinked")
        if generator == "Ninja" {
            let dryRun = try run("ninja", ["-C", scratch.build.path, "-n"])
            #expect(dryRun.out.contains("no work to do"), "\(dryRun.out)")
        }
        // An edit of the file re-embeds it.
        try scratch.write("second edit\n", to: "project/data/\(name)")
        BuildSystems.succeeded(try build(), "build after an edit")
        #expect(try run(demo).out.split(separator: "\n").contains("\(name)=12"))
        // Deleting it rebuilds, and the build after that does nothing.
        try FileManager.default.removeItem(at: scratch.url("project/data/\(name)"))
        BuildSystems.succeeded(try build(), "build after a deletion")
        #expect(try run(demo).out == "plain.txt=6\n")
        let relinked = try modified(demo)
        BuildSystems.succeeded(try build(), "build after that")
        #expect(try modified(demo) == relinked)
    }
}
